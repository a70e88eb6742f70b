using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Consent;

/// <summary>
/// Start writes a consent state for whoever asks, before any consent is given: each client address may start at most
/// <c>Onboarding__StartsPerMinute</c> consents in any minute (a sliding window, in this instance's memory), so one client cannot
/// fill the table or wear the app down. A customer opens their link a handful of times; a script is stopped within a minute.
/// </summary>
public sealed class StartThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public StartThrottle(IOptions<OnboardingOptions> options)
    {
        var perMinute = options.Value.StartsPerMinute;
        _limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetSlidingWindowLimiter(
            address,
            _ => new SlidingWindowRateLimiterOptions
            {
                PermitLimit = perMinute,
                Window = TimeSpan.FromMinutes(1),
                SegmentsPerWindow = 6,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>True when <paramref name="clientAddress"/> may start one more consent now.</summary>
    public bool TryEnter(string clientAddress)
    {
        using var lease = _limiter.AttemptAcquire(clientAddress);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
