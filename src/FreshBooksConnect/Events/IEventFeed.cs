namespace FreshBooksConnect.Events;

/// <summary>One page of the feed, and the cursor to read on from (the same cursor when nothing new came).</summary>
public sealed record EventPage(IReadOnlyList<ConnectionEvent> Events, string? Cursor);

/// <summary>An event whose webhook deliveries all failed for <see cref="EventsOptions.GiveUpAfter"/>; it is still in the feed.</summary>
public sealed record FailedEvent(ConnectionEvent Event, int Attempts, DateTimeOffset FailedAt, string? LastError);

/// <summary>
/// Every event in the order it was delivered, for a SaaS that reads rather than receives; the events whose webhook delivery
/// failed; and whether the webhook receiver asked (410) to get no more.
/// </summary>
public interface IEventFeed
{
    /// <summary>Adds <paramref name="connectionEvent"/> under <paramref name="feedKey"/>; adding it again under the same key changes nothing.</summary>
    Task AppendAsync(ConnectionEvent connectionEvent, string feedKey, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> events after <paramref name="cursor"/> (from the start when null), none added after
    /// <paramref name="settledBefore"/>; null when the cursor is not one this feed handed out.
    /// </summary>
    Task<EventPage?> ReadAsync(string? cursor, DateTimeOffset settledBefore, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes feed entries added before <paramref name="before"/>; returns how many.</summary>
    Task<int> PurgeAsync(DateTimeOffset before, CancellationToken cancellationToken);

    Task AddFailedAsync(FailedEvent failed, CancellationToken cancellationToken);

    Task<IReadOnlyList<FailedEvent>> ListFailedAsync(int limit, CancellationToken cancellationToken);

    Task<FailedEvent?> FindFailedAsync(string eventId, CancellationToken cancellationToken);

    Task RemoveFailedAsync(string eventId, CancellationToken cancellationToken);

    /// <summary>Whether the receiver at the webhook URL (<paramref name="urlKey"/>, a hash of it) answered 410 Gone.</summary>
    Task<bool> IsWebhookGoneAsync(string urlKey, CancellationToken cancellationToken);

    Task MarkWebhookGoneAsync(string urlKey, DateTimeOffset at, CancellationToken cancellationToken);
}
