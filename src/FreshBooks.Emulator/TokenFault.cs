namespace FreshBooks.Emulator;

public enum TokenFaultKind
{
    ServerError,
    TooManyRequests,
    Delay,
    DropAfterRotation,
    Timeout,
    /// <summary>A 200 shaped oddly (<see cref="TokenFault.Shape"/>) after full processing; see <see cref="TokenFault.OddAnswer"/>.</summary>
    OddAnswer,
}

/// <summary>What the token endpoint does to one call instead of (or before) answering normally.</summary>
public sealed record TokenFault
{
    private TokenFault(TokenFaultKind kind, TimeSpan duration, TokenAnswerShape? shape = null)
    {
        Kind = kind;
        Duration = duration;
        Shape = shape;
    }

    public TokenFaultKind Kind { get; }

    /// <summary>Retry-After for <see cref="TokenFaultKind.TooManyRequests"/>, the wait for <see cref="TokenFaultKind.Delay"/>, the longest hold for <see cref="TokenFaultKind.Timeout"/>.</summary>
    public TimeSpan Duration { get; }

    /// <summary>How the 200 is malformed, for <see cref="TokenFaultKind.OddAnswer"/>; null for every other kind.</summary>
    public TokenAnswerShape? Shape { get; }

    /// <summary>503 with an HTML body (a load balancer's page, not JSON); nothing is processed.</summary>
    public static TokenFault ServerError { get; } = new(TokenFaultKind.ServerError, TimeSpan.Zero);

    /// <summary>
    /// The request is processed fully (a refresh spends the old refresh token and issues a new pair;
    /// an exchange spends the code), then the connection is aborted without an answer.
    /// </summary>
    public static TokenFault DropAfterRotation { get; } = new(TokenFaultKind.DropAfterRotation, TimeSpan.Zero);

    /// <summary>
    /// The request is held, unprocessed, until the client gives up (or 5 minutes pass, then 504).
    /// Nothing is spent.
    /// </summary>
    public static TokenFault Timeout { get; } = new(TokenFaultKind.Timeout, TimeSpan.FromMinutes(5));

    /// <summary>429 with <c>Retry-After</c> in whole seconds (rounded up); nothing is processed.</summary>
    public static TokenFault TooManyRequests(TimeSpan retryAfter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retryAfter, TimeSpan.Zero);
        return new(TokenFaultKind.TooManyRequests, retryAfter);
    }

    /// <summary>Waits (real time) and then answers normally.</summary>
    public static TokenFault Delay(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return new(TokenFaultKind.Delay, delay);
    }

    /// <summary>
    /// The call is processed fully (the code or the old refresh token is spent, a new pair is issued and is
    /// live), then the 200 is written in <paramref name="shape"/> instead of the usual one. The tokens inside
    /// are the real new ones. A call that fails (invalid_grant, ...) is answered normally; the fault is used up.
    /// </summary>
    public static TokenFault OddAnswer(TokenAnswerShape shape)
    {
        if (!Enum.IsDefined(shape))
        {
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "Unknown answer shape.");
        }

        return new(TokenFaultKind.OddAnswer, TimeSpan.Zero, shape);
    }
}

/// <summary>
/// Odd but 200 answers of the token endpoint (<see cref="TokenFault.OddAnswer"/>), each one thing a client
/// parser must survive. Unless a member says otherwise the body is the usual JSON with one field changed:
/// <c>{"access_token","token_type":"Bearer","expires_in":43200,"refresh_token","scope","created_at","direct_buy_tokens":{}}</c>.
/// </summary>
public enum TokenAnswerShape
{
    /// <summary><c>created_at</c> is when the grant was first issued (the code exchange), not this refresh; the token still lives 12 h from now.</summary>
    OriginalCreatedAt,
    /// <summary><c>created_at</c> in unix milliseconds instead of seconds.</summary>
    CreatedAtMilliseconds,
    /// <summary>No <c>created_at</c>.</summary>
    CreatedAtMissing,
    /// <summary><c>created_at</c> one hour ahead of the emulator's clock.</summary>
    CreatedAtFuture,
    /// <summary><c>created_at</c> as a JSON string of unix seconds, e.g. <c>"1646237089"</c>.</summary>
    CreatedAtString,
    /// <summary>No <c>expires_in</c>.</summary>
    ExpiresInMissing,
    /// <summary><c>"expires_in": null</c>.</summary>
    ExpiresInNull,
    /// <summary><c>"expires_in": 0</c>.</summary>
    ExpiresInZero,
    /// <summary><c>"expires_in": 43200.0</c>, written literally with a fraction part.</summary>
    ExpiresInDecimal,
    /// <summary><c>"expires_in": "43200"</c> (a JSON string).</summary>
    ExpiresInString,
    /// <summary><c>"expires_in": 99999999999999</c> (more seconds than a DateTimeOffset can add).</summary>
    ExpiresInHuge,
    /// <summary><c>"expires_in": -1</c>.</summary>
    ExpiresInNegative,
    /// <summary>The usual body with <c>Content-Type: application/json; charset=foo-unknown</c>.</summary>
    UnknownCharset,
    /// <summary>The usual body with no <c>Content-Type</c> header at all.</summary>
    NoContentType,
    /// <summary><c>"token_type": "bearer"</c>.</summary>
    TokenTypeLowercase,
    /// <summary>No <c>token_type</c>.</summary>
    TokenTypeMissing,
    /// <summary><c>"token_type": "mac"</c>.</summary>
    TokenTypeOther,
    /// <summary>
    /// <c>access_token</c> and <c>refresh_token</c> wrapped in spaces and a trailing newline inside the JSON string
    /// (<c>"  abc…\n"</c>); the trimmed values are the real tokens.
    /// </summary>
    PaddedTokens,
    /// <summary>Unknown fields besides the usual ones: nested objects, arrays, nulls, booleans.</summary>
    ExtraFields,
    /// <summary>No <c>scope</c>.</summary>
    ScopeMissing,
    /// <summary>200 with an HTML page (<c>text/html</c>) instead of JSON: the new pair exists but is lost to the client.</summary>
    NotJson,
    /// <summary>The usual body without <c>refresh_token</c>: the access token works, the new refresh token is lost to the client.</summary>
    RefreshTokenMissing,
}
