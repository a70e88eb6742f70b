namespace FreshBooksConnect.Events;

/// <summary>An event waiting in its connection's outbox (the connection's own partition), with its delivery bookkeeping.</summary>
public sealed record OutboxEvent(
    ConnectionEvent Event,
    string Key,
    int Attempts,
    DateTimeOffset? FirstAttemptAt,
    DateTimeOffset? NextAttemptAt,
    string? FeedKey,
    string? LastError,
    string? Version);

/// <summary>A reminder that a connection's outbox has events to deliver, due at <see cref="DueAt"/>.</summary>
public sealed record EventReminder(string ConnectionId, DateTimeOffset DueAt, DateTimeOffset? EnqueuedAt, string Key, string? Version);

/// <summary>One queue message: deliver the events waiting in <see cref="ConnectionId"/>'s outbox (found by the reminder <see cref="Reminder"/>).</summary>
public sealed record EventMessage(string ConnectionId, string Reminder);

/// <summary>
/// The outbox side of connection events: events are written with their connection's state (by the connection store, in one
/// entity-group transaction); a reminder written before that transaction makes sure a crash after it still delivers them.
/// </summary>
public interface IEventOutbox
{
    /// <summary>Writes a reminder for <paramref name="connectionId"/>'s outbox, due once the fast path had its chance; returns its key.</summary>
    Task<string> RemindAsync(string connectionId, DateTimeOffset dueAt, CancellationToken cancellationToken);

    /// <summary>Asks a deliverer to look at the outbox (a queue message), now or after <paramref name="delay"/>.</summary>
    Task NotifyAsync(EventMessage message, TimeSpan delay, CancellationToken cancellationToken);

    /// <summary>The connection's events still to deliver, oldest first.</summary>
    Task<IReadOnlyList<OutboxEvent>> ReadAsync(string connectionId, CancellationToken cancellationToken);

    /// <summary>Puts an event (back) into its connection's outbox: a redelivery of a failed one.</summary>
    Task AddAsync(ConnectionEvent connectionEvent, CancellationToken cancellationToken);

    /// <summary>Writes the event's bookkeeping (attempts, next attempt, feed key) if it is unchanged since it was read; the new version, or null.</summary>
    Task<string?> UpdateAsync(OutboxEvent outboxEvent, CancellationToken cancellationToken);

    /// <summary>Removes an event from the outbox: delivered, or moved to the failed list.</summary>
    Task RemoveAsync(OutboxEvent outboxEvent, CancellationToken cancellationToken);

    /// <summary>Takes the connection's delivery lease until <paramref name="until"/>; false when another deliverer holds one past <paramref name="now"/>.</summary>
    Task<bool> TryLeaseAsync(string connectionId, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken);

    Task ReleaseAsync(string connectionId, string owner, CancellationToken cancellationToken);

    /// <summary>Reminders due at or before <paramref name="now"/>.</summary>
    IAsyncEnumerable<EventReminder> ReadDueRemindersAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Marks a reminder handed to the queue, if unchanged since read.</summary>
    Task<bool> MarkEnqueuedAsync(EventReminder reminder, DateTimeOffset now, CancellationToken cancellationToken);

    Task RemoveReminderAsync(string key, CancellationToken cancellationToken);
}
