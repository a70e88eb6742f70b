using Microsoft.Extensions.Time.Testing;

namespace FreshBooks.Emulator.Tests;

/// <summary>An emulator on a free loopback port, its fake clock, and an HTTP client that does not follow redirects.</summary>
public sealed class EmulatorHarness : IAsyncDisposable
{
    public const string RedirectUri = "http://127.0.0.1:9/callback";

    private EmulatorHarness(FreshBooksEmulator emulator, FakeTimeProvider time, EmulatorOptions options)
    {
        Emulator = emulator;
        Time = time;
        Options = options;
        Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = emulator.BaseUri };
        Client = new TestClient(emulator, Http, options);
    }

    public FreshBooksEmulator Emulator { get; }

    public FakeTimeProvider Time { get; }

    public EmulatorOptions Options { get; }

    public HttpClient Http { get; }

    public TestClient Client { get; }

    public static async Task<EmulatorHarness> StartAsync(Action<EmulatorOptions>? configure = null)
    {
        var options = new EmulatorOptions { RedirectUris = [RedirectUri] };
        configure?.Invoke(options);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
        return new EmulatorHarness(await FreshBooksEmulator.StartAsync(options, time), time, options);
    }

    /// <summary>Leaves the shared emulator as a new test expects it: no faults, no latency, empty logs, PKCE as configured.</summary>
    public void Reset()
    {
        Emulator.RequirePkce = Options.RequirePkce;
        Emulator.Faults.Clear();
        Emulator.Faults.Latency = TimeSpan.Zero;
        Emulator.Faults.ApiLatency = TimeSpan.Zero;
        Emulator.ResetLog();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Emulator.DisposeAsync();
    }
}

/// <summary>One emulator shared by the tests of the <c>emulator</c> collection (they run one at a time).</summary>
public sealed class EmulatorFixture : IAsyncLifetime
{
    public EmulatorHarness Harness { get; private set; } = null!;

    public async Task InitializeAsync() => Harness = await EmulatorHarness.StartAsync();

    public async Task DisposeAsync() => await Harness.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class EmulatorCollection : ICollectionFixture<EmulatorFixture>
{
    public const string Name = "emulator";
}

/// <summary>
/// One emulator for the business-API tests: Charles Babbage (<see cref="EmulatedUser.MultiBusiness"/>, signs in by
/// default) and Ada (<see cref="EmulatedUser.Default"/>), and every scope the emulated APIs know registered.
/// </summary>
public sealed class BooksFixture : IAsyncLifetime
{
    public const string AllScopes = "user:profile:read user:clients:read user:clients:write user:invoices:read user:invoices:write user:projects:read user:time_entries:read";

    public EmulatorHarness Harness { get; private set; } = null!;

    public static Task<EmulatorHarness> StartAsync() => EmulatorHarness.StartAsync(o =>
    {
        o.Users = [EmulatedUser.MultiBusiness, EmulatedUser.Default];
        o.Scopes = AllScopes;
    });

    public async Task InitializeAsync() => Harness = await StartAsync();

    public async Task DisposeAsync() => await Harness.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class BooksCollection : ICollectionFixture<BooksFixture>
{
    public const string Name = "books";
}

/// <summary>Base for tests on the shared emulator: resets it before each test.</summary>
[Collection(EmulatorCollection.Name)]
public abstract class EmulatorTest
{
    protected EmulatorTest(EmulatorFixture fixture)
    {
        Harness = fixture.Harness;
        Harness.Reset();
    }

    protected EmulatorHarness Harness { get; }

    protected FreshBooksEmulator Emulator => Harness.Emulator;

    protected TestClient Client => Harness.Client;

    protected HttpClient Http => Harness.Http;

    protected IEnumerable<MisuseKind> MisuseKinds => Emulator.Misuses.Select(m => m.Kind);
}
