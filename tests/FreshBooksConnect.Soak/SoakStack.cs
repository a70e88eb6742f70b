using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using FreshBooks.Emulator;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.Soak;

/// <summary>
/// The real stack, on free loopback ports: Azurite on disk (stopped and restarted for outages) behind the <see cref="TableRelay"/>,
/// the FreshBooks emulator in this process behind the <see cref="FreshBooksRelay"/>, and the app instances as processes of their own,
/// all with one <c>FreshBooks__RedirectUri</c> as if behind one host name. Also the soak's own read of the stored connections
/// (the product's store, straight to Azurite, with the keys the soak configured).
/// </summary>
internal sealed class SoakStack : IAsyncDisposable
{
    public const string ClientId = "soak-client";
    public const string FunctionKey = "soak-function-key-7f3c9b2e41d8";
    public const string MasterKey = "soak-master-key-0a6e5d4c3b2a";

    private readonly List<AppInstance> _instances = [];
    private ServiceProvider? _services;
    private int _failedStarts;

    private SoakStack(SoakOptions options)
    {
        Options = options;
        Ledger = new TokenLedger(() => DateTimeOffset.UtcNow);
        Watch = new LogWatch(Ledger);
        Watch.Add(ClientSecret, "the FreshBooks client secret");
        Watch.Add(EncryptionKey, "the token encryption key");
        Watch.Add(SigningKey, "the onboarding signing key");
        Watch.Add(FunctionKey, "the function key");
        Watch.Add(MasterKey, "the master key");
    }

    public SoakOptions Options { get; }

    public AzuriteFixture Azurite { get; } = AzuriteFixture.OnDisk();

    public FreshBooksEmulator Emulator { get; private set; } = null!;

    public TableRelay Tables { get; private set; } = null!;

    public FreshBooksRelay FreshBooks { get; private set; } = null!;

    /// <summary>Where every instance exports its telemetry (OTLP over HTTP, each to its own path); the log watch reads each export.</summary>
    public OtlpReceiver Telemetry { get; private set; } = null!;

    public IReadOnlyList<AppInstance> Instances => _instances;

    public TokenLedger Ledger { get; }

    public LogWatch Watch { get; }

    public AppAnswers Answers { get; } = new();

    /// <summary>The product's own store, read straight from Azurite (not through the relay) for the soak's checks.</summary>
    public IConnectionStore Store => _services!.GetRequiredService<IConnectionStore>();

    /// <summary>Calls the app's API with the function key; long enough for a token request that waits for another instance.</summary>
    public HttpClient Api { get; } = CreateApiClient();

    public string ClientSecret { get; } = "soak-secret-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12));

    public string EncryptionKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public string SigningKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The one public address FreshBooks sends browsers back to; the soak delivers each callback to an instance of its choice.</summary>
    public string RedirectUri { get; private set; } = "";

    /// <summary>How long a renewal lease holds, and how long a pair not saved is kept and waited for (the apps' settings).</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan SaveTimeout = TimeSpan.FromSeconds(90);

    /// <summary>How long an app instance waits for a FreshBooks answer before it gives up (the apps' setting).</summary>
    public static readonly TimeSpan FreshBooksTimeout = TimeSpan.FromSeconds(5);

    public static async Task<SoakStack> StartAsync(SoakOptions options, CancellationToken cancellationToken)
    {
        var stack = new SoakStack(options);
        try
        {
            await stack.StartCoreAsync(cancellationToken);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    public AppInstance? PickUp(Random random)
    {
        var up = _instances.Where(i => i.IsUp).ToList();
        return up.Count == 0 ? null : up[random.Next(up.Count)];
    }

    /// <summary>Sends a request to one instance; null when it did not answer (down, killed meanwhile, or too slow).</summary>
    public async Task<HttpResponseMessage?> SendAsync(AppInstance instance, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await Api.SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Answers.NoAnswer(instance.IsUp);
            return null;
        }
    }

    /// <summary>The settings each app instance gets (environment variables), with the windows scaled to the soak's token life.</summary>
    public Dictionary<string, string> AppSettings(int instance)
    {
        var life = Options.TokenLife;
        var storage = $"DefaultEndpointsProtocol=http;AccountName={AzuriteFixture.AccountName};AccountKey={AzuriteFixture.AccountKey};" +
            $"BlobEndpoint={Azurite.BlobServiceUri};QueueEndpoint={Azurite.QueueServiceUri};" +
            $"TableEndpoint=http://127.0.0.1:{Tables.Port}/{AzuriteFixture.AccountName};";
        return new Dictionary<string, string>
        {
            ["Storage"] = storage,
            ["AzureWebJobsStorage"] = storage,
            ["FreshBooks__AuthUrl"] = Emulator.AuthorizeUri.AbsoluteUri,
            ["FreshBooks__ApiUrl"] = $"http://127.0.0.1:{FreshBooks.Ports[instance]}",
            ["FreshBooks__ClientId"] = ClientId,
            ["FreshBooks__ClientSecret"] = ClientSecret,
            ["FreshBooks__RedirectUri"] = RedirectUri,
            ["FreshBooks__Scopes"] = "user:profile:read user:clients:read",
            ["FreshBooks__Timeout"] = Span(FreshBooksTimeout),

            // Off: the soak's invariant "no dead token handed out" is the rule for tokens read from storage. With the cache on, an
            // instance may serve for up to its lifetime a token another instance's refresh killed (the README's staleness rule),
            // which this invariant would count as dead.
            ["TokenCache__Lifetime"] = "00:00:00",
            ["RenewalSchedule"] = "*/5 * * * * *",
            ["TokenProtection__CurrentKeyId"] = "k1",
            ["TokenProtection__Keys__k1"] = EncryptionKey,
            ["Onboarding__SigningKey"] = SigningKey,
            ["Onboarding__AllowAnonymous"] = "false",

            // Every customer's browser is 127.0.0.1: the per-address limit of Start is not what the soak puts under load.
            ["Onboarding__StartsPerMinute"] = "1000000",

            // A 12-hour token is renewed an hour (plus up to 10 minutes) before expiry, inline within 5 minutes of it; the same
            // shares of the soak's token life. The app validates these against the 12-hour life and takes them.
            ["Renewal__RenewBefore"] = Span(life / 2),
            ["Renewal__Jitter"] = Span(life / 9),
            ["Renewal__InlineRefreshBefore"] = Span(life / 6),
            ["Renewal__LeaseDuration"] = Span(LeaseDuration),
            ["Renewal__SaveTimeout"] = Span(SaveTimeout),
            ["Renewal__MaxInlineRetryAfter"] = "00:00:03",
            ["Renewal__FailureBackoff"] = "00:00:05",
            ["Renewal__MaxFailureBackoff"] = "00:00:30",
            ["Renewal__RequeueAfter"] = "00:00:20",
            ["Renewal__LeaseWaitTimeout"] = "00:00:15",
            ["Storage__Retry__MaxRetries"] = "2",
            ["Storage__Retry__NetworkTimeout"] = "00:00:03",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"{Telemetry.Endpoint.AbsoluteUri}app{instance}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["LocalHost__FunctionKey"] = FunctionKey,
            ["LocalHost__MasterKey"] = MasterKey,
            ["AZURE_FUNCTIONS_ENVIRONMENT"] = "Development",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };
    }

    /// <summary>Start-ups that ended with the process exiting (the soak then starts it again, as the platform would).</summary>
    public int FailedStarts => Volatile.Read(ref _failedStarts);

    /// <summary>
    /// Starts an instance that is down (after a kill or a stop) on its own port again, every few seconds until it answers: an
    /// instance that starts while storage is down may exit at start-up (see <see cref="FailedStarts"/>).
    /// </summary>
    public async Task RestartAsync(AppInstance instance, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await instance.StartAsync(cancellationToken);
                return;
            }
            catch (InvalidOperationException) when (attempt < 40)
            {
                Interlocked.Increment(ref _failedStarts);
                await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            }
        }
    }

    /// <summary>Kills every app instance at once: the exit path of a Ctrl-C, where nothing may be left running.</summary>
    public void KillAllNow()
    {
        foreach (var instance in _instances)
        {
            instance.KillNow();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        if (FreshBooks is not null)
        {
            await FreshBooks.DisposeAsync();
        }

        if (Tables is not null)
        {
            await Tables.DisposeAsync();
        }

        if (Emulator is not null)
        {
            await Emulator.DisposeAsync();
        }

        if (Telemetry is not null)
        {
            await Telemetry.DisposeAsync();
        }

        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        Api.Dispose();
        await Azurite.DisposeAsync();
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Options.LogDirectory);
        await Azurite.StartAsync(cancellationToken);
        Telemetry = await OtlpReceiver.StartAsync(export => Watch.ScanTelemetry(export));
        var ports = FreePorts(1 + (2 * Options.Instances));
        var appPorts = ports.Take(Options.Instances).ToArray();
        RedirectUri = $"http://127.0.0.1:{appPorts[0]}/api/callback";
        Tables = new TableRelay(ports[Options.Instances], Azurite.TableServiceUri, Options.Seed);
        await Tables.StartAsync();
        Emulator = await FreshBooksEmulator.StartAsync(new EmulatorOptions
        {
            ClientId = ClientId,
            ClientSecret = ClientSecret,
            RedirectUris = [RedirectUri],
            AccessTokenLifetime = Options.TokenLife,
        }, cancellationToken: cancellationToken);
        FreshBooks = new FreshBooksRelay([.. ports.Skip(Options.Instances + 1)], Emulator.BaseUri, Emulator.WasRedeemed, Ledger, i => _instances[i].KillAsync(), new Random(Options.Seed));
        await FreshBooks.StartAsync();

        for (var i = 0; i < Options.Instances; i++)
        {
            _instances.Add(new AppInstance(i, appPorts[i], AppSettings(i), Options.LogDirectory, Watch));
        }

        // One at a time: each start-up is a few seconds of both cores.
        foreach (var instance in _instances)
        {
            await instance.StartAsync(cancellationToken);
        }

        // The soak reads what the apps store with the product's own store and keys, straight from Azurite.
        var settings = AppSettings(0).ToDictionary(s => s.Key.Replace("__", ":", StringComparison.Ordinal), s => (string?)s.Value);
        settings["Storage"] = Azurite.ConnectionString;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        _services = new ServiceCollection().AddFreshBooksConnect(configuration).BuildServiceProvider();
    }

    private static HttpClient CreateApiClient()
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, UseCookies = false, AllowAutoRedirect = false, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5) })
        {
            Timeout = TimeSpan.FromSeconds(90),
        };
        client.DefaultRequestHeaders.Add("x-functions-key", FunctionKey);
        return client;
    }

    private static string Span(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }
}
