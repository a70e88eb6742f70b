using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Azure.Data.Tables;
using FreshBooks.Emulator;
using FreshBooksConnect.LocalHost;
using FreshBooksConnect.Storage;
using FreshBooksConnect.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// The real parts: Azurite, the FreshBooks emulator and the function app served by the local host, all on free loopback
/// ports, sharing one clock that tests move (timers stay real). One per test collection; apps are started per test as needed.
/// </summary>
public class ConnectStack : IAsyncLifetime
{
    public const string ClientId = "integration-client";
    public const string ClientSecret = "integration-secret";
    public const string ReturnUrlPrefix = "https://saas.example/settings/";

    private readonly List<AppInstance> _apps = [];

    public ConnectStack()
        : this(storageOnDisk: false)
    {
    }

    /// <param name="storageOnDisk">Azurite keeps its data on disk, so a test can stop and restart it (a storage outage).</param>
    protected ConnectStack(bool storageOnDisk) => Azurite = storageOnDisk ? AzuriteFixture.OnDisk() : new AzuriteFixture();

    public AzuriteFixture Azurite { get; }

    public FreshBooksEmulator Emulator { get; private set; } = null!;

    /// <summary>The clock of the app and the emulator alike.</summary>
    public EmulatorClock Clock { get; } = new();

    public string EncryptionKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public string SigningKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The app most tests use.</summary>
    public AppInstance App { get; private set; } = null!;

    public TableServiceClient Tables => new(Azurite.ConnectionString);

    public async Task InitializeAsync()
    {
        await Azurite.StartAsync();
        Emulator = await FreshBooksEmulator.StartAsync(
            new EmulatorOptions
            {
                ClientId = ClientId,
                ClientSecret = ClientSecret,
                Users = [EmulatedUser.Default, SecondUser, EmulatedUser.MultiBusiness],

                // Registered for the proxy's tests; apps ask for the first two unless a test asks for more.
                Scopes = "user:profile:read user:clients:read user:clients:write user:invoices:read user:invoices:write user:projects:read user:time_entries:read",
            },
            Clock);
        App = await StartAppAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        await Emulator.DisposeAsync();
        await Azurite.DisposeAsync();
    }

    public static EmulatedUser SecondUser { get; } = new(
        9002,
        "5b1f6d0e-2f7c-4c8e-9a51-3c1d2e4f5a60",
        "Grace",
        "Hopper",
        "grace@example.com",
        [
            new EmulatedBusiness(71, 7001, "f1e2d3c4-0000-4000-8000-000000007001", "Compilers & Co.", "GHC701", "owner"),
            new EmulatedBusiness(72, 7002, "f1e2d3c4-0000-4000-8000-000000007002", "Nanosecond Wire Works", "NWW702", "manager"),
        ]);

    /// <summary>The settings an app gets: working values for this stack, which a test may change.</summary>
    public Dictionary<string, string?> Settings(int port) => new(StringComparer.OrdinalIgnoreCase)
    {
        ["Storage"] = Azurite.ConnectionString,
        ["AzureWebJobsStorage"] = Azurite.ConnectionString,
        ["FreshBooks:AuthUrl"] = Emulator.AuthorizeUri.AbsoluteUri,
        ["FreshBooks:ApiUrl"] = Emulator.BaseUri.AbsoluteUri,
        ["FreshBooks:ClientId"] = ClientId,
        ["FreshBooks:ClientSecret"] = ClientSecret,
        ["FreshBooks:RedirectUri"] = $"http://127.0.0.1:{port}/api/callback",
        ["FreshBooks:Scopes"] = "user:profile:read user:clients:read",
        ["FreshBooks:Timeout"] = "00:00:10",
        ["RenewalSchedule"] = "0 */5 * * * *",
        ["TokenProtection:CurrentKeyId"] = "k1",
        ["TokenProtection:Keys:k1"] = EncryptionKey,
        ["Onboarding:SigningKey"] = SigningKey,
        ["Onboarding:AllowedReturnUrls"] = ReturnUrlPrefix,

        // Every test's browser is 127.0.0.1: the per-address limit of Start is tested on an app of its own.
        ["Onboarding:StartsPerMinute"] = "1000000",
        ["Renewal:RetryBaseDelay"] = "00:00:00.020",
        ["Renewal:SaveRetryDelay"] = "00:00:00.020",
        ["Renewal:LeaseWaitInterval"] = "00:00:00.050",
        ["Storage:Retry:Delay"] = "00:00:00.010",
        ["LocalHost:FunctionKey"] = "integration-function-key",
        ["LocalHost:MasterKey"] = "integration-master-key",
    };

    /// <summary>
    /// Starts one more app against this stack. With <paramref name="instanceOf"/> it is another instance of that app's
    /// deployment (same public redirect URI, as behind one host name); otherwise an app of its own. <paramref name="withSettings"/>
    /// registers what needs the app's configuration (its telemetry, as a host's Program.cs does).
    /// </summary>
    public async Task<AppInstance> StartAppAsync(
        Action<Dictionary<string, string?>>? configure = null,
        Action<IServiceCollection>? services = null,
        bool runQueues = false,
        AppInstance? instanceOf = null,
        Action<IServiceCollection, IConfiguration>? withSettings = null)
    {
        var port = FreePort();
        var settings = Settings(port);
        if (instanceOf is not null)
        {
            settings["FreshBooks:RedirectUri"] = instanceOf.RedirectUri;
        }

        configure?.Invoke(settings);
        var options = new LocalHostOptions
        {
            Urls = $"http://127.0.0.1:{port}",
            LoadLocalSettingsFile = false,
            RunTimers = false,
            RunQueues = runQueues,
            ConfigureServices = (s, configuration) =>
            {
                s.AddFreshBooksConnect(configuration);
                s.RemoveAll<TimeProvider>();
                s.AddSingleton<TimeProvider>(Clock);
                services?.Invoke(s);
                withSettings?.Invoke(s, configuration);
            },
        };
        foreach (var (key, value) in settings)
        {
            options.Settings[key] = value;
        }

        var host = await LocalFunctionsHost.StartAsync(options);
        var app = new AppInstance(host, this, settings["FreshBooks:RedirectUri"]!);
        _apps.Add(app);
        return app;
    }

    /// <summary>Empties the product's tables and queue, so a test starts from nothing.</summary>
    public async Task ResetStorageAsync()
    {
        foreach (var table in new[] { StorageOptions.ConnectionsTableName, StorageOptions.ConsentStatesTableName, StorageOptions.RenewalIndexTableName, StorageOptions.EventsTableName })
        {
            var client = Tables.GetTableClient(table);
            await foreach (var entity in client.QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"]))
            {
                await client.DeleteEntityAsync(entity.PartitionKey, entity.RowKey);
            }
        }

        await new Azure.Storage.Queues.QueueClient(Azurite.ConnectionString, StorageOptions.RenewalQueueName).ClearMessagesAsync();
        await new Azure.Storage.Queues.QueueClient(Azurite.ConnectionString, StorageOptions.EventQueueName).ClearMessagesAsync();
        Emulator.ResetLog();
        Emulator.Faults.Clear();
    }

    /// <summary>The connection rows of the connections table (not the events waiting in their partitions' outboxes).</summary>
    public async Task<List<TableEntity>> ConnectionRowsAsync() =>
        [.. (await RowsAsync(StorageOptions.ConnectionsTableName)).Where(r => !r.RowKey.StartsWith('~'))];

    /// <summary>The events waiting in the connections' outboxes, oldest first per connection.</summary>
    public async Task<List<TableEntity>> OutboxRowsAsync() =>
        [.. (await RowsAsync(StorageOptions.ConnectionsTableName)).Where(r => r.RowKey.StartsWith("~event-", StringComparison.Ordinal))];

    /// <summary>Every row of a table, as stored (to assert on what a write did or did not do).</summary>
    public async Task<List<TableEntity>> RowsAsync(string table)
    {
        var rows = new List<TableEntity>();
        await foreach (var entity in Tables.GetTableClient(table).QueryAsync<TableEntity>())
        {
            rows.Add(entity);
        }

        return rows;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
