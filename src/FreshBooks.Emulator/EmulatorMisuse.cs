namespace FreshBooks.Emulator;

/// <summary>Something a client did that a well-behaved FreshBooks client never does.</summary>
public enum MisuseKind
{
    /// <summary>A refresh token that was already spent by an earlier refresh.</summary>
    ReusedRefreshToken,
    /// <summary>A refresh token the emulator never issued.</summary>
    UnknownRefreshToken,
    /// <summary>A refresh token of a grant that was revoked (by revoke, or by a reused code).</summary>
    RevokedToken,
    /// <summary>An authorization code that was already exchanged (the grant issued from it is revoked).</summary>
    ReusedCode,
    /// <summary>An authorization code older than <see cref="EmulatorOptions.CodeLifetime"/>.</summary>
    ExpiredCode,
    /// <summary>An authorization code the emulator never issued.</summary>
    UnknownCode,
    WrongClientSecret,
    UnknownClient,
    /// <summary>redirect_uri not registered (authorize) or not the one used at authorize (token).</summary>
    RedirectUriMismatch,
    /// <summary>A bearer token that is unknown, expired, replaced by a refresh, or revoked.</summary>
    DeadAccessToken,
    /// <summary>An API call without a bearer token.</summary>
    MissingAccessToken,
    /// <summary>An API call for an account the token's user has no business with, or outside the token's scopes.</summary>
    Forbidden,
    /// <summary>An authorize request for scopes the app did not register.</summary>
    InvalidScope,
    UnsupportedResponseType,
    UnsupportedGrantType,
    /// <summary>A required parameter was missing or the body could not be read.</summary>
    InvalidRequest,
    /// <summary>A consent form post whose nonce is unknown, spent or does not match the request.</summary>
    ForgedConsent,
    /// <summary>PKCE is required (<see cref="EmulatorOptions.RequirePkce"/>): an authorize request without a code_challenge, or a code issued without one.</summary>
    PkceRequired,
    /// <summary>An authorize request whose code_challenge_method is not S256, or whose code_challenge is missing or not a base64url SHA-256.</summary>
    InvalidCodeChallenge,
    /// <summary>A code issued with a code_challenge exchanged without its code_verifier, or a code_verifier sent for a code issued without a challenge.</summary>
    CodeVerifierMismatch,
}

/// <summary>One recorded misuse. <see cref="Detail"/> is human-readable and never holds a whole token.</summary>
public sealed record EmulatorMisuse(DateTimeOffset Time, MisuseKind Kind, EndpointKind Endpoint, string Detail);
