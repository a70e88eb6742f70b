namespace FreshBooks.Emulator;

public enum TokenFaultKind
{
    ServerError,
    TooManyRequests,
    Delay,
    DropAfterRotation,
    Timeout,
}

/// <summary>What the token endpoint does to one call instead of (or before) answering normally.</summary>
public sealed record TokenFault
{
    private TokenFault(TokenFaultKind kind, TimeSpan duration)
    {
        Kind = kind;
        Duration = duration;
    }

    public TokenFaultKind Kind { get; }

    /// <summary>Retry-After for <see cref="TokenFaultKind.TooManyRequests"/>, the wait for <see cref="TokenFaultKind.Delay"/>, the longest hold for <see cref="TokenFaultKind.Timeout"/>.</summary>
    public TimeSpan Duration { get; }

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
}
