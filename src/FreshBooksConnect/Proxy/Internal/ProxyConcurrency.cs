using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Proxy.Internal;

/// <summary>
/// At most <see cref="ProxyOptions.MaxConcurrentPerConnection"/> proxied calls per connection at once on this instance, so one
/// tenant can't take every outbound connection from the others. A partitioned concurrency limiter without a queue: a call over
/// the limit is refused at once; idle partitions are dropped by the limiter itself.
/// </summary>
internal sealed class ProxyConcurrency(IOptions<ProxyOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(connectionId =>
        RateLimitPartition.GetConcurrencyLimiter(connectionId, _ => new ConcurrencyLimiterOptions
        {
            PermitLimit = options.Value.MaxConcurrentPerConnection,
            QueueLimit = 0,
        }));

    /// <summary>A permit to dispose when the call ends, or null when the connection has its limit of calls under way.</summary>
    public IDisposable? TryEnter(string connectionId)
    {
        var lease = _limiter.AttemptAcquire(connectionId);
        if (lease.IsAcquired)
        {
            return lease;
        }

        lease.Dispose();
        return null;
    }

    public void Dispose() => _limiter.Dispose();
}
