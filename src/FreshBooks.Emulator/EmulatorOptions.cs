namespace FreshBooks.Emulator;

/// <summary>
/// How the emulated FreshBooks app registration and its users look. Bound from the configuration
/// section <c>Emulator</c> when the emulator runs standalone (<c>Emulator__ClientId</c>,
/// <c>Emulator__RedirectUris__0</c>, <c>Emulator__CodeLifetime=00:05:00</c>, <c>Emulator__RequirePkce=true</c>, ...).
/// </summary>
public sealed class EmulatorOptions
{
    /// <summary>The one registered app's client id.</summary>
    public string ClientId { get; set; } = "emulator-client-id";

    /// <summary>The one registered app's client secret.</summary>
    public string ClientSecret { get; set; } = "emulator-client-secret";

    /// <summary>Name shown on the consent page.</summary>
    public string AppName { get; set; } = "FreshBooks Connect for Azure";

    /// <summary>
    /// Registered redirect URIs, matched exactly (scheme, host, port, path); none may carry a query.
    /// Empty: any absolute http(s) URI without a query or fragment is accepted (handy for local runs).
    /// </summary>
    public List<string> RedirectUris { get; set; } = new();

    /// <summary>
    /// The FreshBooks users who can sign in. The first one is who the consent page signs in as,
    /// unless the authorize URL carries <c>login_hint</c> (email or id) or the user picks another.
    /// </summary>
    public List<EmulatedUser> Users { get; set; } = [EmulatedUser.Default];

    /// <summary>How long an authorization code can be exchanged (FreshBooks: 5 minutes).</summary>
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an access token is valid from issue (FreshBooks: 12 hours).</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>
    /// The app's registered scopes (space separated), granted when authorize has no <c>scope</c>. The default
    /// covers <c>users/me</c> and reading clients; the other API endpoints need <c>user:clients:write</c> (create a
    /// client), <c>user:invoices:read</c>, <c>user:projects:read</c> or <c>user:time_entries:read</c> registered too.
    /// </summary>
    public string Scopes { get; set; } = "user:profile:read user:clients:read";

    /// <summary>
    /// When true, a refresh answers with the grant's original <c>created_at</c> (as FreshBooks may do)
    /// while the new access token still lives <see cref="AccessTokenLifetime"/> from now. Lets clients
    /// test that they clamp the computed expiry by the time they received the answer.
    /// </summary>
    public bool RefreshKeepsOriginalCreatedAt { get; set; }

    /// <summary>
    /// When true, PKCE (RFC 7636, S256 only) is required: an authorize request without a <c>code_challenge</c> is answered
    /// with an <c>invalid_request</c> redirect, and a code issued without one is refused at the token endpoint. FreshBooks
    /// does not document PKCE: this plays a FreshBooks that enforces it. Whatever it says, a code issued with a challenge is
    /// exchanged only with its <c>code_verifier</c>. <see cref="FreshBooksEmulator.RequirePkce"/> (or
    /// <c>POST /_emulator/pkce?required=…</c>) changes it while the emulator runs.
    /// </summary>
    public bool RequirePkce { get; set; }
}
