using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Renewal;

/// <summary>Decides when a connection is next due: before expiry with jitter, or after a failure with capped exponential backoff.</summary>
public sealed class RenewalSchedule(IOptions<RenewalOptions> options)
{
    private readonly RenewalOptions _options = options.Value;

    /// <summary><see cref="RenewalOptions.RenewBefore"/> ahead of expiry, minus up to <see cref="RenewalOptions.Jitter"/>; never in the past.</summary>
    public DateTimeOffset NextRenewal(DateTimeOffset accessTokenExpiresAt, DateTimeOffset now)
    {
        var jitter = TimeSpan.FromTicks((long)(_options.Jitter.Ticks * Random.Shared.NextDouble()));
        var at = accessTokenExpiresAt - _options.RenewBefore - jitter;
        return at < now ? now : at;
    }

    /// <summary>The next try after <paramref name="failedAttempts"/> failures in a row, honouring FreshBooks' Retry-After when longer.</summary>
    public DateTimeOffset NextRetry(int failedAttempts, DateTimeOffset now, TimeSpan? retryAfter)
    {
        var exponent = Math.Clamp(failedAttempts - 1, 0, 16);
        var backoff = TimeSpan.FromTicks(Math.Min(_options.FailureBackoff.Ticks * (1L << exponent), _options.MaxFailureBackoff.Ticks));

        // Up to a quarter more at random, so connections that failed together don't retry together.
        backoff += TimeSpan.FromTicks((long)(backoff.Ticks * 0.25 * Random.Shared.NextDouble()));
        if (retryAfter > backoff)
        {
            backoff = retryAfter.Value;
        }

        return now + backoff;
    }

    /// <summary>Delay before the next inline call to the token endpoint within one renewal.</summary>
    public TimeSpan InlineRetryDelay(int attempt, TimeSpan? retryAfter)
    {
        if (retryAfter is { } after)
        {
            return after;
        }

        var baseDelay = _options.RetryBaseDelay * Math.Pow(2, attempt - 1);
        return baseDelay + (baseDelay * Random.Shared.NextDouble() * 0.5);
    }
}
