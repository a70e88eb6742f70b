using FreshBooksConnect.Consent;
using FreshBooksConnect.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Renewal;

/// <summary>
/// The timer's work: reads only the due entries of the renewal index and enqueues one message per due connection. It does not
/// renew: queue workers do, under the lease, so duplicate or late messages are harmless.
/// </summary>
public sealed class RenewalSweep(
    IRenewalIndex index,
    IRenewalQueue queue,
    IConsentStateStore consentStates,
    TimeProvider time,
    IOptions<RenewalOptions> options,
    ILogger<RenewalSweep> logger)
{
    private readonly RenewalOptions _options = options.Value;

    public async Task<SweepResult> SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        int due = 0, enqueued = 0, skipped = 0;
        await Parallel.ForEachAsync(
            index.ReadDueAsync(now, cancellationToken),
            new ParallelOptions { MaxDegreeOfParallelism = _options.SweepParallelism, CancellationToken = cancellationToken },
            async (entry, ct) =>
            {
                Interlocked.Increment(ref due);

                // Recently handed out: its renewal is queued or running. It is offered again after RequeueAfter if still due.
                if (entry.EnqueuedAt > now - _options.RequeueAfter || !await index.MarkEnqueuedAsync(entry, now, ct).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref skipped);
                    return;
                }

                await queue.EnqueueAsync(new RenewalMessage(entry.ConnectionId, entry.RenewAt), ct).ConfigureAwait(false);
                Interlocked.Increment(ref enqueued);
            }).ConfigureAwait(false);

        var purged = await consentStates.PurgeExpiredAsync(now, cancellationToken).ConfigureAwait(false);
        Log.Swept(logger, due, enqueued, skipped, purged);
        return new SweepResult(due, enqueued, skipped, purged);
    }
}
