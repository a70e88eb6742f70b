using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Events.Internal;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Events;

/// <summary>
/// Delivers the events waiting in one connection's outbox, oldest first, under a delivery lease (two instances never deliver
/// one connection's events at once): each goes into the feed, then to the webhook when one is configured. A failed delivery
/// waits (5 s, 1 min, 10 min, 1 h, then every 4 hours) and holds back the events after it, so their order is kept; after
/// <see cref="EventsOptions.GiveUpAfter"/> it is kept as failed and the next ones go on. At least once: a redelivery keeps the
/// event's id.
/// </summary>
public sealed class EventDelivery(IEventOutbox outbox, IEventFeed feed, IWebhookSender webhook, RenewalMetrics metrics, TimeProvider time, IOptions<EventsOptions> options, ILogger<EventDelivery> logger)
{
    private static readonly TimeSpan[] Backoff =
        [TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10), TimeSpan.FromHours(1), TimeSpan.FromHours(4)];

    /// <summary>How soon a message that found the outbox leased by another deliverer looks again.</summary>
    private static readonly TimeSpan LeaseRetry = TimeSpan.FromSeconds(5);

    private readonly EventsOptions _options = options.Value;
    private readonly string _owner = $"{Environment.MachineName}/{Guid.NewGuid():N}";

    /// <summary>How long one delivery run may hold a connection's outbox: every event's webhook call at its time-out, and more.</summary>
    private TimeSpan LeaseDuration => (_options.DeliveryTimeout * 10) + TimeSpan.FromMinutes(1);

    public async Task DeliverAsync(EventMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await DeliverCoreAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            // The message completes; the outbox's reminder brings it back (failing it would only retry it at once and then
            // park it in the poison queue).
            Log.EventDeliveryDeferred(logger, message.ConnectionId, ex.Status);
        }
    }

    private async Task DeliverCoreAsync(EventMessage message, CancellationToken cancellationToken)
    {
        var id = message.ConnectionId;
        var now = time.GetUtcNow();
        if (!await outbox.TryLeaseAsync(id, _owner, now, now + LeaseDuration, cancellationToken).ConfigureAwait(false))
        {
            // Another instance is delivering this outbox. It may have read it before this message's event landed: look again
            // shortly rather than leave the event to its reminder.
            await outbox.NotifyAsync(message, LeaseRetry, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            var webhookOn = webhook.IsConfigured && !await feed.IsWebhookGoneAsync(webhook.UrlKey, cancellationToken).ConfigureAwait(false);
            DateTimeOffset? next = null;

            // Read again after delivering: an event written meanwhile is taken in this run, in its order.
            for (var delivered = true; delivered && next is null;)
            {
                delivered = false;
                foreach (var waiting in await outbox.ReadAsync(id, cancellationToken).ConfigureAwait(false))
                {
                    next = await DeliverOneAsync(waiting, webhookOn, cancellationToken).ConfigureAwait(false);
                    if (next is not null)
                    {
                        break;
                    }

                    delivered = true;
                }
            }

            // The outbox is empty, or waits for a retry: a reminder of that replaces the one this message came from.
            if (next is { } at)
            {
                var reminder = await outbox.RemindAsync(id, at, cancellationToken).ConfigureAwait(false);
                if (reminder == message.Reminder)
                {
                    return;
                }
            }

            await outbox.RemoveReminderAsync(message.Reminder, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await outbox.ReleaseAsync(id, _owner, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <returns>Null when the event is done with (delivered, or given up); otherwise when to try it (and those after it) again.</returns>
    private async Task<DateTimeOffset?> DeliverOneAsync(OutboxEvent waiting, bool webhookOn, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (waiting.NextAttemptAt is { } due && due > now)
        {
            return due;
        }

        // Into the feed first, under a key chosen once and kept on the outbox row, so a second try adds nothing twice.
        if (waiting.FeedKey is null)
        {
            var keyed = waiting with { FeedKey = TableEventFeed.FeedKey(now, waiting.Event.Id) };
            if (await outbox.UpdateAsync(keyed, cancellationToken).ConfigureAwait(false) is not { } version)
            {
                // Another deliverer took over (our lease ran out): it carries on from here.
                return now + Backoff[0];
            }

            waiting = keyed with { Version = version };
        }

        await feed.AppendAsync(waiting.Event, waiting.FeedKey, cancellationToken).ConfigureAwait(false);
        if (!webhookOn)
        {
            await outbox.RemoveAsync(waiting, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var result = await webhook.SendAsync(waiting.Event, cancellationToken).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case WebhookOutcome.Delivered:
                Log.EventDelivered(logger, waiting.Event.Id, waiting.Event.Type, waiting.Event.Data.ConnectionId, waiting.Attempts + 1);
                metrics.RecordEventDelivery("delivered");
                await outbox.RemoveAsync(waiting, cancellationToken).ConfigureAwait(false);
                return null;
            case WebhookOutcome.Gone:
                // The receiver asked for no more: delivery stays off for this URL (the feed goes on) until the URL changes.
                Log.WebhookGone(logger);
                metrics.RecordEventDelivery("gone");
                await feed.MarkWebhookGoneAsync(webhook.UrlKey, now, cancellationToken).ConfigureAwait(false);
                await outbox.RemoveAsync(waiting, cancellationToken).ConfigureAwait(false);
                return null;
        }

        var attempts = waiting.Attempts + 1;
        var first = waiting.FirstAttemptAt ?? now;
        if (now - first >= _options.GiveUpAfter)
        {
            Log.EventDeliveryFailed(logger, waiting.Event.Id, waiting.Event.Type, waiting.Event.Data.ConnectionId, attempts, result.Error);
            metrics.RecordEventDelivery("failed");
            await feed.AddFailedAsync(new FailedEvent(waiting.Event, attempts, now, result.Error), cancellationToken).ConfigureAwait(false);
            await outbox.RemoveAsync(waiting, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var retryAt = now + Backoff[Math.Min(attempts, Backoff.Length) - 1];
        Log.EventDeliveryRetried(logger, waiting.Event.Id, waiting.Event.Data.ConnectionId, attempts, result.Error, retryAt);
        metrics.RecordEventDelivery("retried");
        await outbox.UpdateAsync(waiting with { Attempts = attempts, FirstAttemptAt = first, NextAttemptAt = retryAt, LastError = result.Error }, cancellationToken).ConfigureAwait(false);
        return retryAt;
    }
}
