using FreshBooksConnect.Consent;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Storage;
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
    ConsentStatePurge consentPurge,
    RenewalMetrics metrics,
    TimeProvider time,
    IOptions<RenewalOptions> options,
    ILogger<RenewalSweep> logger)
{
    /// <summary>Entries marked in one index transaction (the most one entity-group transaction takes).</summary>
    private const int MarkBatchSize = 100;
    private readonly RenewalOptions _options = options.Value;

    public async Task<SweepResult> SweepAsync(CancellationToken cancellationToken)
    {
        using var span = ConnectTelemetry.StartSpan(ConnectTelemetry.SweepSpan);
        var now = time.GetUtcNow();
        int due = 0, enqueued = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.SweepParallelism, CancellationToken = cancellationToken };
        try
        {
            await foreach (var batch in index.ReadDueAsync(now, cancellationToken).Chunk(MarkBatchSize).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                due += batch.Length;

                // Recently handed out: its renewal is queued or running. It is offered again after RequeueAfter if still due.
                var offered = batch.Where(entry => entry.EnqueuedAt is not { } handedOut || handedOut <= now - _options.RequeueAfter).ToList();
                if (offered.Count == 0)
                {
                    continue;
                }

                // Marked before enqueued, so two sweeps never both enqueue an entry; one that is marked but not enqueued (the sweep
                // died in between, or the enqueue failed) is offered again after RequeueAfter.
                var marked = await index.MarkEnqueuedAsync(offered, now, cancellationToken).ConfigureAwait(false);
                await Parallel.ForEachAsync(
                    marked,
                    parallel,
                    async (entry, ct) =>
                    {
                        try
                        {
                            await queue.EnqueueAsync(new RenewalMessage(entry.ConnectionId, entry.RenewAt, span?.Id), ct).ConfigureAwait(false);
                            Interlocked.Increment(ref enqueued);
                        }
                        catch (StorageUnavailableException ex)
                        {
                            Log.EnqueueFailed(logger, entry.ConnectionId, ex.Status);
                        }
                    }).ConfigureAwait(false);
            }
        }
        catch (StorageUnavailableException ex)
        {
            Log.SweepInterrupted(logger, ex.Status, enqueued);
        }

        var skipped = due - enqueued;
        var purged = await consentPurge.PurgeAsync(now, cancellationToken).ConfigureAwait(false);
        Log.Swept(logger, due, enqueued, skipped, purged);
        metrics.RecordSweep(due);
        span?.SetTag("due", due).SetTag("enqueued", enqueued);
        return new SweepResult(due, enqueued, skipped, purged);
    }
}
