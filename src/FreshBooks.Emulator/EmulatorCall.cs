namespace FreshBooks.Emulator;

/// <summary>Which emulated FreshBooks endpoint a request hit.</summary>
public enum EndpointKind
{
    Other,
    Authorize,
    Token,
    Revoke,
    UsersMe,
    Clients,
}

/// <summary>
/// One request the emulator answered (admin requests under <c>/_emulator/</c> are not recorded).
/// <see cref="StatusCode"/> is 0 when the connection was dropped without an answer.
/// </summary>
public sealed record EmulatorCall(
    DateTimeOffset Time,
    EndpointKind Endpoint,
    string Method,
    string Path,
    string? GrantType,
    int StatusCode,
    string? Error,
    TokenFaultKind? Fault);
