namespace FreshBooks.Emulator;

public enum ApiFaultKind
{
    TooManyRequests,
    ServerError,
    Unauthorized,
    Delay,
    Timeout,
    Reset,
}

/// <summary>
/// What a bearer-token API call (<c>users/me</c>, accounting, projects, time tracking) gets instead of (or
/// before) its normal answer. Separate from <see cref="TokenFault"/>: token calls never take API faults. The revoke
/// endpoint takes only a fault addressed to it (<c>.On(EndpointKind.Revoke)</c>).
/// </summary>
public sealed record ApiFault
{
    private ApiFault(ApiFaultKind kind, TimeSpan duration, EndpointKind? endpoint = null)
    {
        Kind = kind;
        Duration = duration;
        Endpoint = endpoint;
    }

    public ApiFaultKind Kind { get; }

    /// <summary>Retry-After for <see cref="ApiFaultKind.TooManyRequests"/>, the wait for <see cref="ApiFaultKind.Delay"/>, the longest hold for <see cref="ApiFaultKind.Timeout"/>.</summary>
    public TimeSpan Duration { get; }

    /// <summary>Only a call to this endpoint takes the fault; null: the next API call, whichever it is.</summary>
    public EndpointKind? Endpoint { get; }

    /// <summary>503 with an HTML body (a load balancer's page); the call is not processed.</summary>
    public static ApiFault ServerError { get; } = new(ApiFaultKind.ServerError, TimeSpan.Zero);

    /// <summary>
    /// 401 <c>unauthenticated</c> even for a valid token, as when the token was killed elsewhere (a refresh on
    /// another instance). The token stays valid in the emulator; no misuse is recorded.
    /// </summary>
    public static ApiFault Unauthorized { get; } = new(ApiFaultKind.Unauthorized, TimeSpan.Zero);

    /// <summary>The connection is cut before the call is processed: the client sees a transport error, no answer.</summary>
    public static ApiFault Reset { get; } = new(ApiFaultKind.Reset, TimeSpan.Zero);

    /// <summary>The call is held, unprocessed, until the client gives up (or 5 minutes pass, then 504).</summary>
    public static ApiFault Timeout { get; } = new(ApiFaultKind.Timeout, TimeSpan.FromMinutes(5));

    /// <summary>429 with <c>Retry-After</c> in whole seconds (rounded up); the call is not processed.</summary>
    public static ApiFault TooManyRequests(TimeSpan retryAfter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retryAfter, TimeSpan.Zero);
        return new(ApiFaultKind.TooManyRequests, retryAfter);
    }

    /// <summary>Waits (real time; a client that gives up meanwhile gets nothing), then answers normally.</summary>
    public static ApiFault Delay(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return new(ApiFaultKind.Delay, delay);
    }

    /// <summary>The same fault, taken only by the next call to <paramref name="endpoint"/> (e.g. <see cref="EndpointKind.UsersMe"/>).</summary>
    public ApiFault On(EndpointKind endpoint) => new(Kind, Duration, endpoint);
}
