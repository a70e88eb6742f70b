using FreshBooksConnect.Diagnostics;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Events;

public enum RedeliveryOutcome
{
    /// <summary>The event is back in its connection's outbox and on its way.</summary>
    Queued,
    NotFound,
}

/// <summary>The event feed as the API serves it: events in order from a cursor, the failed ones, and a redelivery of one.</summary>
public sealed class ConnectionEventFeed(IEventFeed feed, IEventOutbox outbox, TimeProvider time, ILogger<ConnectionEventFeed> logger)
{
    /// <summary>How long a new feed entry waits before it is served: longer than the instances' clocks differ.</summary>
    public static readonly TimeSpan SettleDelay = TimeSpan.FromSeconds(10);

    public const int MaxLimit = 200;

    /// <summary>Up to <paramref name="limit"/> events after <paramref name="cursor"/>; null when the cursor is not one the feed handed out.</summary>
    public Task<EventPage?> ReadAsync(string? cursor, int limit, CancellationToken cancellationToken) =>
        feed.ReadAsync(cursor, time.GetUtcNow() - SettleDelay, limit, cancellationToken);

    public Task<IReadOnlyList<FailedEvent>> ListFailedAsync(int limit, CancellationToken cancellationToken) => feed.ListFailedAsync(limit, cancellationToken);

    /// <summary>Puts a failed event back into its connection's outbox, with its id, and asks for its delivery now.</summary>
    public async Task<RedeliveryOutcome> RedeliverAsync(string eventId, CancellationToken cancellationToken)
    {
        if (await feed.FindFailedAsync(eventId, cancellationToken).ConfigureAwait(false) is not { } failed)
        {
            return RedeliveryOutcome.NotFound;
        }

        var connectionId = failed.Event.Data.ConnectionId;
        var reminder = await outbox.RemindAsync(connectionId, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        await outbox.AddAsync(failed.Event, cancellationToken).ConfigureAwait(false);
        await feed.RemoveFailedAsync(eventId, cancellationToken).ConfigureAwait(false);
        await outbox.NotifyAsync(new EventMessage(connectionId, reminder), TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        Log.EventRedelivered(logger, eventId, connectionId);
        return RedeliveryOutcome.Queued;
    }
}
