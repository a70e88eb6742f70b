using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using FreshBooks.Emulator;
using FreshBooksConnect.Connections;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.LocalHost;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Storage;
using FreshBooksConnect.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Benchmarks;

internal enum DueMeans
{
    /// <summary>NextRenewalAt in the past: the sweep picks it.</summary>
    Sweep,

    /// <summary>Stored expiry 2 minutes ahead, NextRenewalAt later: the token API refreshes it inline.</summary>
    InlineWindow,
}

internal sealed record SweepRun(double Seconds, SweepResult Result, Counts Counts);

/// <summary>A timed drain; <paramref name="AllocatedBytes"/> and <paramref name="Cpu"/> are of this whole process (app, emulator, client; not Azurite).</summary>
internal sealed record DrainRun(double Seconds, long Renewed, Counts Counts, long AllocatedBytes, TimeSpan Cpu, double[] Latencies, long StillDue)
{
    public double Rate => Renewed / Seconds;

    public double RequestsPerRenewal => (double)Counts.Requests / Math.Max(1, Renewed);

    public double AllocatedPerRenewal => (double)AllocatedBytes / Math.Max(1, Renewed);

    public double CpuMsPerRenewal => Cpu.TotalMilliseconds / Math.Max(1, Renewed);

    public string DescribePerRenewal() => Counts.Describe(Math.Max(1, Renewed));
}

/// <summary>Azurite, the emulator and one app instance (the local host, in process), sharing one clock.</summary>
internal sealed class Stack : IAsyncDisposable
{
    private readonly string _encryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private readonly string _signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public AzuriteFixture Azurite { get; } = new();

    public EmulatorClock Clock { get; } = new();

    public FreshBooksEmulator Emulator { get; private set; } = null!;

    public LocalFunctionsHost Host { get; private set; } = null!;

    public RequestCounter Counter { get; } = new();

    public HttpClient Api { get; private set; } = null!;

    private TableServiceClient Tables => new(Azurite.ConnectionString);

    public static async Task<Stack> StartAsync()
    {
        var stack = new Stack();
        await stack.Azurite.StartAsync();
        stack.Emulator = await FreshBooksEmulator.StartAsync(new EmulatorOptions { ClientId = "bench-client", ClientSecret = "bench-secret" }, stack.Clock);

        // Sections 1-2 measure the storage path: this host has no token cache (section 2c and 6 start hosts with one).
        stack.Host = await stack.StartHostAsync(new Dictionary<string, string?> { ["TokenCache:Lifetime"] = "00:00:00" });
        stack.Api = new HttpClient { BaseAddress = stack.Host.BaseUri };
        stack.Api.DefaultRequestHeaders.Add("x-functions-key", stack.Host.FunctionKey);
        return stack;
    }

    /// <summary>
    /// One more instance of the app in this process, on its own port, against the same Azurite and emulator, with
    /// <paramref name="overrides"/> over the bench's settings. The caller disposes it.
    /// </summary>
    public async Task<LocalFunctionsHost> StartHostAsync(IReadOnlyDictionary<string, string?> overrides)
    {
        var port = FreePort();
        var options = new LocalHostOptions
        {
            Urls = $"http://127.0.0.1:{port}",
            LoadLocalSettingsFile = false,
            RunTimers = false,
            RunQueues = false,
            ConfigureServices = (s, configuration) =>
            {
                s.AddFreshBooksConnect(configuration);
                s.RemoveAll<TimeProvider>();
                s.AddSingleton<TimeProvider>(Clock);
                s.Configure<StorageOptions>(o => o.ConfigureClients += clientOptions =>
                {
                    if (clientOptions is TableClientOptions)
                    {
                        clientOptions.AddPolicy(Counter, HttpPipelinePosition.PerCall);
                    }
                });
                s.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
            },
        };
        foreach (var (key, value) in Settings(port).Concat(overrides))
        {
            options.Settings[key] = value;
        }

        return await LocalFunctionsHost.StartAsync(options);
    }

    public Dictionary<string, string?> Settings(int port) => new(StringComparer.OrdinalIgnoreCase)
    {
        ["Storage"] = Azurite.ConnectionString,
        ["AzureWebJobsStorage"] = Azurite.ConnectionString,
        ["FreshBooks:AuthUrl"] = Emulator.AuthorizeUri.AbsoluteUri,
        ["FreshBooks:ApiUrl"] = Emulator.BaseUri.AbsoluteUri,
        ["FreshBooks:ClientId"] = "bench-client",
        ["FreshBooks:ClientSecret"] = "bench-secret",
        ["FreshBooks:RedirectUri"] = $"http://127.0.0.1:{port}/api/callback",
        ["FreshBooks:Scopes"] = "user:profile:read user:clients:read",
        ["FreshBooks:Timeout"] = "00:00:10",
        ["RenewalSchedule"] = "0 */5 * * * *",
        ["TokenProtection:CurrentKeyId"] = "k1",
        ["TokenProtection:Keys:k1"] = _encryptionKey,
        ["Onboarding:SigningKey"] = _signingKey,

        // Every onboarding comes from 127.0.0.1: the per-address limit of Start would measure the limiter, not Start.
        ["Onboarding:StartsPerMinute"] = "1000000",

        // Start's consent path, as a SaaS that opens links from its own signed-in pages has it; the page a link opens first
        // writes nothing and calls no one, so it would only add a round trip to what is measured here.
        ["Onboarding:ConfirmPage"] = "false",
        ["LocalHost:FunctionKey"] = "bench-function-key",
        ["LocalHost:MasterKey"] = "bench-master-key",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    public T Service<T>() where T : notnull => Host.Services.GetRequiredService<T>();

    /// <summary>Empties the product's tables (delete + recreate) and the renewal queue.</summary>
    public async Task ResetAsync()
    {
        foreach (var name in new[] { StorageOptions.ConnectionsTableName, StorageOptions.ConsentStatesTableName, StorageOptions.RenewalIndexTableName })
        {
            var table = Tables.GetTableClient(name);
            await table.DeleteAsync();
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await table.CreateIfNotExistsAsync();
                    break;
                }
                catch (Azure.RequestFailedException) when (attempt < 50)
                {
                    await Task.Delay(100);
                }
            }
        }

        await new QueueClient(Azurite.ConnectionString, StorageOptions.RenewalQueueName).ClearMessagesAsync();
        Emulator.ResetLog();
        GC.Collect();
    }

    /// <summary>Seeds <paramref name="n"/> connections, the first <paramref name="due"/> with real grants.</summary>
    public async Task SeedAsync(int n, int due, string idPrefix = "bench", DueMeans dueMeans = DueMeans.Sweep)
    {
        var freshBooks = Service<IFreshBooksClient>();
        var now = Clock.GetUtcNow();
        var identity = new FreshBooksIdentity(
            EmulatedUser.Default.Id, EmulatedUser.Default.IdentityUuid, EmulatedUser.Default.FirstName, EmulatedUser.Default.LastName, EmulatedUser.Default.Email,
            [.. EmulatedUser.Default.Businesses.Select(b => new BusinessMembership(b.MembershipId, b.Role, b.BusinessId, b.BusinessUuid, b.Name, b.AccountId))]);
        await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            var id = $"{idPrefix}-{i:D6}";
            string access, refresh;
            DateTimeOffset expires, next;
            if (i < due)
            {
                var authorize = freshBooks.BuildAuthorizeUrl(Convert.ToHexString(RandomNumberGenerator.GetBytes(16)), codeVerifier: null);
                var redirect = await Emulator.ApproveAsync(authorize, cancellationToken: ct);
                var code = System.Web.HttpUtility.ParseQueryString(redirect.Query)["code"]!;
                var grant = await freshBooks.ExchangeCodeAsync(code, codeVerifier: null, ct);
                if (!grant.IsSuccess)
                {
                    throw new InvalidOperationException($"code exchange failed: {grant.Outcome} {grant.Error}");
                }

                (access, refresh) = (grant.Value!.AccessToken, grant.Value.RefreshToken);
                if (dueMeans == DueMeans.Sweep)
                {
                    expires = grant.Value.AccessTokenExpiresAt;
                    next = now - TimeSpan.FromMinutes(1) - TimeSpan.FromMilliseconds(i);
                }
                else
                {
                    expires = now + TimeSpan.FromMinutes(2);
                    next = now + TimeSpan.FromHours(1);
                }
            }
            else
            {
                (access, refresh) = ($"dummy-access-{id}", $"dummy-refresh-{id}");
                next = NotDueAt(now);
                expires = next + TimeSpan.FromHours(1);
            }

            var connection = new Connection
            {
                Id = id,
                TenantId = "bench",
                Identity = identity,
                Scopes = "user:profile:read user:clients:read",
                AccessToken = access,
                RefreshToken = refresh,
                AccessTokenExpiresAt = expires,
                CreatedAt = now,
                UpdatedAt = now,
                StatusChangedAt = now,
                NextRenewalAt = next,
            };
            await ProductApi.AddConnectionAsync(Host.Services, connection, ct);
        });
    }

    /// <summary>Deletes connection rows straight from the table: a benchmark's clean-up, so the next run sees the same table size.</summary>
    public async Task DeleteConnectionRowsAsync(IReadOnlyList<string> ids)
    {
        // Row key = the id since issue 19; a constant before (./bench.sh --compare builds against older sources too).
        var table = Tables.GetTableClient(StorageOptions.ConnectionsTableName);
        var rowKey = "";
        await foreach (var row in table.QueryAsync<TableEntity>($"PartitionKey eq '{ids[0]}' and RowKey lt '~'", select: ["RowKey"]))
        {
            rowKey = row.RowKey;
        }

        var keyedById = rowKey == ids[0];
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, ct) => await table.DeleteEntityAsync(id, keyedById ? id : rowKey, Azure.ETag.All, ct));
    }

    /// <summary>
    /// Index entries, not due, for <paramref name="n"/> connections that get no row: the population of the 100,000-connection
    /// sweep, which neither the sweep nor the drain reads, and whose rows Azurite could not take in reasonable time (its insert
    /// looks for an existing row by scanning every row with the same row key, so seeding N rows costs N²).
    /// </summary>
    public async Task ScheduleOnlyAsync(int n, string idPrefix)
    {
        var now = Clock.GetUtcNow();
        await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
            await ProductApi.ScheduleOnlyAsync(Host.Services, $"{idPrefix}-{i:D6}", NotDueAt(now), ct));
    }

    /// <summary>A renewal time 2–11 hours ahead, spread as a population's renewals are.</summary>
    private static DateTimeOffset NotDueAt(DateTimeOffset now) => now + TimeSpan.FromHours(2) + TimeSpan.FromSeconds(Random.Shared.Next(9 * 3600));

    public async Task<SweepRun> SweepAsync()
    {
        var sweep = Service<RenewalSweep>();
        Counter.Reset();
        var sw = Stopwatch.StartNew();
        var result = await sweep.SweepAsync(CancellationToken.None);
        var seconds = sw.Elapsed.TotalSeconds;
        return new SweepRun(seconds, result, Counter.Snapshot());
    }

    /// <summary>Receives up to <paramref name="limit"/> queue messages (not timed), then runs RenewConnection for each with P workers.</summary>
    public async Task<DrainRun> DrainAsync(int parallelism, int limit)
    {
        var queue = new QueueClient(Azurite.ConnectionString, StorageOptions.RenewalQueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var bodies = new List<string>();
        while (bodies.Count < limit)
        {
            var messages = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(30))).Value;
            if (messages.Length == 0)
            {
                break;
            }

            bodies.AddRange(messages.Select(m => m.Body.ToString()));
        }

        if (bodies.Count > limit)
        {
            bodies.RemoveRange(limit, bodies.Count - limit);
        }

        Counter.Reset();
        var latencies = new double[bodies.Count];
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var cpu = CpuTime();
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, bodies.Count), new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (i, ct) =>
        {
            var start = Stopwatch.GetTimestamp();
            await Host.InvokeAsync("RenewConnection", bodies[i], ct);
            latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        });
        var seconds = sw.Elapsed.TotalSeconds;
        cpu = CpuTime() - cpu;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        var counts = Counter.Snapshot();

        // Verify: how many index entries are still due (0 when every message was handled and renewed).
        var stillDue = 0L;
        if (limit == int.MaxValue)
        {
            var upper = Clock.GetUtcNow().UtcTicks.ToString("D19", CultureInfo.InvariantCulture);
            await foreach (var _ in Tables.GetTableClient(StorageOptions.RenewalIndexTableName).QueryAsync<TableEntity>($"PartitionKey eq 'due' and RowKey lt '{upper}'", select: ["RowKey"]))
            {
                stillDue++;
            }
        }

        return new DrainRun(seconds, bodies.Count, counts, allocated, cpu, latencies, stillDue);
    }

    private static TimeSpan CpuTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Api?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        if (Emulator is not null)
        {
            await Emulator.DisposeAsync();
        }

        await Azurite.DisposeAsync();
    }
}
