using System.Security.Cryptography;

namespace FreshBooks.Emulator.Internal;

/// <summary>
/// A token pair as the token endpoint answers it. <see cref="CreatedAt"/> is what a normal answer says (the
/// issue time, or the grant's first issue with <see cref="EmulatorOptions.RefreshKeepsOriginalCreatedAt"/>);
/// <see cref="IssuedAt"/> and <see cref="GrantCreatedAt"/> let odd answers say something else.
/// </summary>
internal sealed record TokenIssued(string AccessToken, string RefreshToken, string Scope, long CreatedAt, long ExpiresIn, DateTimeOffset IssuedAt, DateTimeOffset GrantCreatedAt);

/// <summary>An OAuth error answer: status, <c>error</c>, <c>error_description</c>.</summary>
internal sealed record OAuthError(int Status, string Error, string Description);

internal readonly record struct TokenOutcome(TokenIssued? Issued, OAuthError? Error);

/// <summary>Who a bearer token speaks for, or why it is refused.</summary>
internal readonly record struct BearerOutcome(EmulatedUser? User, string? Scope, string? Problem);

/// <summary>
/// Codes, grants and tokens, and every rule about them. One lock guards all state, so a refresh is
/// atomic: of two concurrent uses of one refresh token exactly one wins.
/// </summary>
internal sealed class OAuthServer
{
    private const string InvalidGrant = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
    private const string InvalidClient = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.";

    private readonly Lock _gate = new();
    private readonly EmulatorOptions _options;
    private readonly TimeProvider _clock;
    private readonly EmulatorLog _log;
    private readonly Dictionary<long, EmulatedUser> _users;
    private readonly Dictionary<string, CodeEntry> _codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RefreshEntry> _refreshTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AccessEntry> _accessTokens = new(StringComparer.Ordinal);
    private int _liveGrants;
    private volatile bool _requirePkce;

    public OAuthServer(EmulatorOptions options, TimeProvider clock, EmulatorLog log)
    {
        _options = options;
        _clock = clock;
        _log = log;
        _users = options.Users.ToDictionary(u => u.Id);
        _requirePkce = options.RequirePkce;
    }

    /// <summary><see cref="EmulatorOptions.RequirePkce"/>, which a test may change while the emulator runs.</summary>
    public bool RequirePkce
    {
        get => _requirePkce;
        set => _requirePkce = value;
    }

    public int LiveGrantCount
    {
        get { lock (_gate)
            {
                return _liveGrants;
            }
        }
    }

    public EmulatedUser? FindUser(long id) => _users.GetValueOrDefault(id);

    public string IssueCode(AuthorizeRequest request, EmulatedUser user)
    {
        var code = NewToken();
        lock (_gate)
        {
            _codes[code] = new CodeEntry(request.RedirectUri, request.Scope, user, _clock.GetUtcNow() + _options.CodeLifetime, request.CodeChallenge);
        }

        return code;
    }

    /// <summary>Null when the client id and secret are the registered ones; otherwise a 401 invalid_client.</summary>
    public OAuthError? AuthenticateClient(string? clientId, string? clientSecret, EndpointKind endpoint)
    {
        if (!string.Equals(clientId, _options.ClientId, StringComparison.Ordinal))
        {
            _log.Misuse(MisuseKind.UnknownClient, endpoint, clientId is null ? "No client_id was sent." : "The client_id is not the registered app's.");
            return new OAuthError(StatusCodes.Status401Unauthorized, "invalid_client", InvalidClient);
        }

        if (!FixedTimeEquals(clientSecret, _options.ClientSecret))
        {
            _log.Misuse(MisuseKind.WrongClientSecret, endpoint, clientSecret is null ? "No client_secret was sent." : "The client_secret is wrong.");
            return new OAuthError(StatusCodes.Status401Unauthorized, "invalid_client", InvalidClient);
        }

        return null;
    }

    public TokenOutcome ExchangeCode(string? code, string? redirectUri, string? codeVerifier)
    {
        if (code is null || redirectUri is null)
        {
            return Refuse(MisuseKind.InvalidRequest, 400, "invalid_request", $"Missing required parameter: {(code is null ? "code" : "redirect_uri")}.");
        }

        lock (_gate)
        {
            var now = _clock.GetUtcNow();
            if (!_codes.TryGetValue(code, out var entry))
            {
                return Refuse(MisuseKind.UnknownCode, $"Code {EmulatorLog.Redact(code)} was never issued.");
            }

            if (entry.Grant is { } earlier)
            {
                var revoked = RevokeGrant(earlier, "its authorization code was used twice");
                return Refuse(MisuseKind.ReusedCode, $"Code {EmulatorLog.Redact(code)} was already exchanged{(revoked ? "; the grant issued from it is now revoked" : "")}.");
            }

            if (now >= entry.ExpiresAt)
            {
                return Refuse(MisuseKind.ExpiredCode, $"Code {EmulatorLog.Redact(code)} expired at {entry.ExpiresAt:O}; it is {now:O}.");
            }

            if (!string.Equals(redirectUri, entry.RedirectUri, StringComparison.Ordinal))
            {
                return Refuse(MisuseKind.RedirectUriMismatch, "The redirect_uri is not the one used at authorize.");
            }

            // Like a redirect mismatch, a PKCE refusal leaves the code usable: whoever sent a wrong verifier (the thief of a
            // code, most likely) must not be able to spend the code of the client that holds the right one.
            if (PkceRefusal(entry, codeVerifier) is { } refusal)
            {
                return refusal;
            }

            var grant = new Grant(entry.User, entry.Scope, entry.RedirectUri, now);
            entry.Grant = grant;
            _liveGrants++;
            return new TokenOutcome(IssuePair(grant, now), null);
        }
    }

    private TokenOutcome? PkceRefusal(CodeEntry entry, string? codeVerifier)
    {
        if (entry.CodeChallenge is { } challenge)
        {
            return Pkce.Verifies(codeVerifier, challenge)
                ? null
                : Refuse(MisuseKind.CodeVerifierMismatch, codeVerifier is null
                    ? "The code was issued with a code_challenge, and no code_verifier was sent."
                    : "The code_verifier does not match the code_challenge sent at authorize.");
        }

        if (codeVerifier is not null)
        {
            // RFC 9700 2.1.1: else a client tricked into leaving the challenge out (a downgrade) would not notice.
            return Refuse(MisuseKind.CodeVerifierMismatch, "A code_verifier was sent for a code issued without a code_challenge.");
        }

        return RequirePkce ? Refuse(MisuseKind.PkceRequired, "The code was issued without a code_challenge, and PKCE is required.") : null;
    }

    public TokenOutcome Refresh(string? refreshToken, string? redirectUri)
    {
        if (refreshToken is null)
        {
            return Refuse(MisuseKind.InvalidRequest, 400, "invalid_request", "Missing required parameter: refresh_token.");
        }

        lock (_gate)
        {
            var now = _clock.GetUtcNow();
            if (!_refreshTokens.TryGetValue(refreshToken, out var entry))
            {
                return Refuse(MisuseKind.UnknownRefreshToken, $"Refresh token {EmulatorLog.Redact(refreshToken)} was never issued.");
            }

            var grant = entry.Grant;
            if (entry.SpentAt is { } spentAt)
            {
                return Refuse(MisuseKind.ReusedRefreshToken, $"Refresh token {EmulatorLog.Redact(refreshToken)} was already spent at {spentAt:O}.");
            }

            if (grant.RevokedBecause is { } why)
            {
                return Refuse(MisuseKind.RevokedToken, $"Refresh token {EmulatorLog.Redact(refreshToken)} belongs to a grant revoked because {why}.");
            }

            if (redirectUri is not null && !string.Equals(redirectUri, grant.RedirectUri, StringComparison.Ordinal))
            {
                return Refuse(MisuseKind.RedirectUriMismatch, "The redirect_uri is not the one used at authorize.");
            }

            entry.SpentAt = now;
            grant.CurrentAccess?.Kill("it was replaced by a refresh");
            return new TokenOutcome(IssuePair(grant, now), null);
        }
    }

    /// <summary>
    /// An access token dies alone; a refresh token (current or spent) revokes its whole grant.
    /// Unknown tokens are ignored, as RFC 7009 asks.
    /// </summary>
    public void Revoke(string token)
    {
        lock (_gate)
        {
            if (_accessTokens.TryGetValue(token, out var access))
            {
                access.Kill("it was revoked");
            }
            else if (_refreshTokens.TryGetValue(token, out var refresh))
            {
                RevokeGrant(refresh.Grant, "it was revoked");
            }
        }
    }

    public BearerOutcome AuthenticateBearer(string? token, EndpointKind endpoint)
    {
        if (token is null)
        {
            _log.Misuse(MisuseKind.MissingAccessToken, endpoint, "No Authorization: Bearer header.");
            return new BearerOutcome(null, null, "No access token was sent.");
        }

        lock (_gate)
        {
            var problem = Problem(token, _clock.GetUtcNow());
            if (problem is not null)
            {
                _log.Misuse(MisuseKind.DeadAccessToken, endpoint, $"Access token {EmulatorLog.Redact(token)}: {problem}.");
                return new BearerOutcome(null, null, problem);
            }

            var entry = _accessTokens[token];
            return new BearerOutcome(entry.Grant.User, entry.Grant.Scope, null);
        }
    }

    public bool WasRedeemed(string codeOrRefreshToken)
    {
        lock (_gate)
        {
            return (_codes.TryGetValue(codeOrRefreshToken, out var code) && code.Grant is not null)
                || (_refreshTokens.TryGetValue(codeOrRefreshToken, out var refresh) && refresh.SpentAt is not null);
        }
    }

    public bool IsAccessTokenValid(string accessToken)
    {
        lock (_gate)
        {
            return Problem(accessToken, _clock.GetUtcNow()) is null;
        }
    }

    private string? Problem(string token, DateTimeOffset now)
    {
        if (!_accessTokens.TryGetValue(token, out var entry))
        {
            return "the token was never issued";
        }

        if (entry.DeadBecause is { } why)
        {
            return $"the token is dead because {why}";
        }

        return now >= entry.ExpiresAt ? $"the token expired at {entry.ExpiresAt:O}" : null;
    }

    private TokenIssued IssuePair(Grant grant, DateTimeOffset now)
    {
        var access = new AccessEntry(grant, now + _options.AccessTokenLifetime);
        var accessToken = NewToken();
        var refreshToken = NewToken();
        _accessTokens.Add(accessToken, access);
        _refreshTokens.Add(refreshToken, new RefreshEntry(grant));
        grant.CurrentAccess = access;
        var createdAt = _options.RefreshKeepsOriginalCreatedAt ? grant.CreatedAt : now;
        return new TokenIssued(accessToken, refreshToken, grant.Scope, createdAt.ToUnixTimeSeconds(), (long)_options.AccessTokenLifetime.TotalSeconds, now, grant.CreatedAt);
    }

    private bool RevokeGrant(Grant grant, string why)
    {
        if (grant.RevokedBecause is not null)
        {
            return false;
        }

        grant.RevokedBecause = why;
        grant.CurrentAccess?.Kill($"its grant was revoked because {why}");
        _liveGrants--;
        return true;
    }

    private TokenOutcome Refuse(MisuseKind kind, string detail) => Refuse(kind, 400, "invalid_grant", InvalidGrant, detail);

    private TokenOutcome Refuse(MisuseKind kind, int status, string error, string description, string? detail = null)
    {
        _log.Misuse(kind, EndpointKind.Token, detail ?? description);
        return new TokenOutcome(null, new OAuthError(status, error, description));
    }

    private static string NewToken() => RandomNumberGenerator.GetHexString(64, lowercase: true);

    private static bool FixedTimeEquals(string? given, string expected) =>
        given is not null && CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(expected));

    private sealed class CodeEntry(string redirectUri, string scope, EmulatedUser user, DateTimeOffset expiresAt, string? codeChallenge)
    {
        public string RedirectUri { get; } = redirectUri;
        public string Scope { get; } = scope;
        public EmulatedUser User { get; } = user;
        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        /// <summary>The S256 code_challenge sent at authorize, if any: the code is then exchanged only with its verifier.</summary>
        public string? CodeChallenge { get; } = codeChallenge;
        public Grant? Grant { get; set; }
    }

    private sealed class Grant(EmulatedUser user, string scope, string redirectUri, DateTimeOffset createdAt)
    {
        public EmulatedUser User { get; } = user;
        public string Scope { get; } = scope;
        public string RedirectUri { get; } = redirectUri;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        public AccessEntry? CurrentAccess { get; set; }
        public string? RevokedBecause { get; set; }
    }

    private sealed class RefreshEntry(Grant grant)
    {
        public Grant Grant { get; } = grant;
        public DateTimeOffset? SpentAt { get; set; }
    }

    private sealed class AccessEntry(Grant grant, DateTimeOffset expiresAt)
    {
        public Grant Grant { get; } = grant;
        public DateTimeOffset ExpiresAt { get; } = expiresAt;
        public string? DeadBecause { get; private set; }

        public void Kill(string why) => DeadBecause ??= why;
    }
}
