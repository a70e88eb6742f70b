using FreshBooks.Emulator.Internal;

namespace FreshBooks.Emulator;

/// <summary>
/// FreshBooks' OAuth server and a little of its API, on a Kestrel port of its own, enforcing the
/// documented rules (code: 5 minutes, once; access token: 12 hours; refresh token: once, and each
/// refresh kills the previous access token). Serves both the auth and the api hosts' paths.
/// </summary>
public sealed class FreshBooksEmulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EmulatorCore _core;
    private int _disposed;

    private FreshBooksEmulator(WebApplication app, EmulatorCore core)
    {
        _app = app;
        _core = core;
        BaseUri = BaseUriOf(app);
        AuthorizeUri = new Uri(BaseUri, "oauth/authorize/");
    }

    /// <summary>e.g. <c>http://127.0.0.1:54321/</c>.</summary>
    public Uri BaseUri { get; }

    /// <summary><see cref="BaseUri"/> + <c>oauth/authorize/</c>.</summary>
    public Uri AuthorizeUri { get; }

    /// <summary>The emulator's time; <see cref="EmulatorClock.Advance"/> moves it.</summary>
    public EmulatorClock Clock => _core.Clock;

    /// <summary>Every request answered so far (snapshot).</summary>
    public IReadOnlyList<EmulatorCall> Calls => _core.Log.Calls;

    /// <summary>Every misuse so far (snapshot).</summary>
    public IReadOnlyList<EmulatorMisuse> Misuses => _core.Log.Misuses;

    public EmulatorFaults Faults => _core.Faults;

    /// <summary>
    /// Whether PKCE is required now (starts as <see cref="EmulatorOptions.RequirePkce"/>): applies to the next authorize
    /// request and code exchange.
    /// </summary>
    public bool RequirePkce
    {
        get => _core.OAuth.RequirePkce;
        set => _core.OAuth.RequirePkce = value;
    }

    /// <summary>How many grants still have a usable refresh token.</summary>
    public int LiveGrantCount => _core.OAuth.LiveGrantCount;

    /// <summary>
    /// Starts an emulator. <paramref name="url"/> with port 0 binds a free port; <paramref name="time"/>
    /// (e.g. a FakeTimeProvider) is wrapped by <see cref="Clock"/>.
    /// </summary>
    public static Task<FreshBooksEmulator> StartAsync(EmulatorOptions options, TimeProvider? time = null, string url = "http://127.0.0.1:0", CancellationToken cancellationToken = default) =>
        StartCoreAsync(EmulatorApp.CreateEmbedded(options, time, url), cancellationToken);

    internal static Task<FreshBooksEmulator> StartStandaloneAsync(string[] args, CancellationToken cancellationToken = default) =>
        StartCoreAsync(EmulatorApp.CreateStandalone(args), cancellationToken);

    /// <summary>
    /// As if the signed-in user clicked Allow on the consent page for <paramref name="authorizeUrl"/>: the same
    /// checks, and the redirect the browser would follow (<c>redirect_uri?code=…&amp;state=…</c>, or an error
    /// redirect such as <c>invalid_scope</c>). Throws <see cref="InvalidOperationException"/> for a request the
    /// page refuses with a 400 error page (unknown client, unregistered redirect URI, response_type not code).
    /// </summary>
    public Task<Uri> ApproveAsync(Uri authorizeUrl, long? userId = null, CancellationToken cancellationToken = default)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            return Task.FromResult(_core.Authorize.Decide(authorizeUrl, allow: true, userId));
        }
        catch (Exception e)
        {
            return Task.FromException<Uri>(e);
        }
    }

    /// <summary>As if the user clicked Deny: <c>redirect_uri?error=access_denied&amp;error_description=…&amp;state=…</c>.</summary>
    public Uri Deny(Uri authorizeUrl) => _core.Authorize.Decide(authorizeUrl, allow: false, userId: null);

    /// <summary>Clears <see cref="Calls"/> and <see cref="Misuses"/>.</summary>
    public void ResetLog() => _core.Log.Reset();

    /// <summary>True while the token is known, unexpired, not replaced by a refresh and not revoked.</summary>
    public bool IsAccessTokenValid(string accessToken) => _core.OAuth.IsAccessTokenValid(accessToken);

    /// <summary>
    /// True once a code was exchanged or a refresh token spent: the call was processed and a pair issued, whether or not its
    /// answer reached anyone (for a harness whose caller hung up while the call was on its way).
    /// </summary>
    public bool WasRedeemed(string codeOrRefreshToken) => _core.OAuth.WasRedeemed(codeOrRefreshToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await _app.StopAsync();
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }

    internal Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    private static async Task<FreshBooksEmulator> StartCoreAsync(WebApplication app, CancellationToken cancellationToken)
    {
        try
        {
            await app.StartAsync(cancellationToken);
            return new FreshBooksEmulator(app, app.Services.GetRequiredService<EmulatorCore>());
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    private static Uri BaseUriOf(WebApplication app)
    {
        var address = app.Urls.FirstOrDefault(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            ?? app.Urls.FirstOrDefault()
            ?? throw new InvalidOperationException("The emulator is listening on no address.");
        var builder = new UriBuilder(address.Replace("://+:", "://localhost:", StringComparison.Ordinal).Replace("://*:", "://localhost:", StringComparison.Ordinal));
        builder.Host = builder.Host switch
        {
            "0.0.0.0" => "127.0.0.1",
            "[::]" or "::" => "[::1]",
            var host => host,
        };
        builder.Path = "/";
        return builder.Uri;
    }
}
