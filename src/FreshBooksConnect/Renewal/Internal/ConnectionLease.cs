using FreshBooksConnect.Connections;
using FreshBooksConnect.Diagnostics;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Renewal.Internal;

internal sealed class ConnectionLease(IConnectionStore store, RenewalMetrics metrics, TimeProvider time, IOptions<RenewalOptions> options) : IConnectionLease
{
    private readonly RenewalOptions _options = options.Value;

    public string Owner { get; } = $"{Environment.MachineName}/{Guid.NewGuid():N}";

    public async Task<LeaseResult> AcquireAsync(Connection connection, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (connection.IsLeasedByOther(Owner, now))
        {
            return new LeaseResult(LeaseOutcome.Taken, connection);
        }

        var write = await store.WriteAsync(connection.Leased(Owner, now + _options.LeaseDuration, now), cancellationToken).ConfigureAwait(false);
        return write.Outcome switch
        {
            WriteOutcome.Written => new LeaseResult(LeaseOutcome.Acquired, write.Stored),
            WriteOutcome.NotFound => new LeaseResult(LeaseOutcome.NotFound, null),
            _ => new LeaseResult(LeaseOutcome.Changed, null),
        };
    }

    public async Task<Connection?> WaitForReleaseAsync(string connectionId, CancellationToken cancellationToken)
    {
        // Bounded by polls as well as by the clock, so a clock that stands still (tests) cannot make it wait forever.
        var polls = (int)Math.Ceiling(_options.LeaseWaitTimeout / _options.LeaseWaitInterval);
        var giveUpAt = time.GetUtcNow() + _options.LeaseWaitTimeout;
        var started = time.GetTimestamp();
        for (var poll = 0; ; poll++)
        {
            var connection = await store.GetAsync(connectionId, cancellationToken).ConfigureAwait(false);
            var now = time.GetUtcNow();
            if (connection is null || !connection.IsLeasedByOther(Owner, now) || now >= giveUpAt || poll >= polls)
            {
                metrics.RecordLeaseWait(connection is null ? "gone" : connection.IsLeasedByOther(Owner, now) ? "still_leased" : "released", time.GetElapsedTime(started));
                return connection;
            }

            await Task.Delay(_options.LeaseWaitInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<bool> IsStillHeldAsync(Connection leased, CancellationToken cancellationToken)
    {
        var current = await store.GetAsync(leased.Id, cancellationToken).ConfigureAwait(false);
        return current is not null && current.Version == leased.Version;
    }
}
