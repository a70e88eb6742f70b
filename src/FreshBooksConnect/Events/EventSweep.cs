using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Events;

/// <summary>
/// Every minute: hands the outboxes whose reminders are due to the delivery queue (the path that brings an event after a crash,
/// a lost queue message or a retry's wait), and drops feed entries older than <see cref="EventsOptions.Retention"/>.
/// </summary>
public sealed class EventSweep(IEventOutbox outbox, IEventFeed feed, TimeProvider time, IOptions<EventsOptions> options, ILogger<EventSweep> logger)
{
    /// <summary>A reminder handed out is not handed out again within this time (its delivery is queued or running).</summary>
    private static readonly TimeSpan RequeueAfter = TimeSpan.FromMinutes(2);

    public async Task<(int Due, int Enqueued, int Purged)> SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        int due = 0, enqueued = 0, purged = 0;
        try
        {
            await foreach (var reminder in outbox.ReadDueRemindersAsync(now, cancellationToken).ConfigureAwait(false))
            {
                due++;
                if (reminder.EnqueuedAt is { } handedOut && handedOut > now - RequeueAfter)
                {
                    continue;
                }

                // Marked first: two sweeps never both enqueue it; one marked but not enqueued is offered again later.
                if (await outbox.MarkEnqueuedAsync(reminder, now, cancellationToken).ConfigureAwait(false))
                {
                    await outbox.NotifyAsync(new EventMessage(reminder.ConnectionId, reminder.Key), TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
                    enqueued++;
                }
            }

            purged = await feed.PurgeAsync(now - options.Value.Retention, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            Log.EventSweepInterrupted(logger, ex.Status, enqueued);
        }

        Log.EventsSwept(logger, due, enqueued, purged);
        return (due, enqueued, purged);
    }
}
