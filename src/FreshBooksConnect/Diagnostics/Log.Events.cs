using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Diagnostics;

internal static partial class Log
{
    [LoggerMessage(5001, LogLevel.Information, "Event {EventId} ({Type}) of connection {ConnectionId} delivered (try {Attempt})")]
    public static partial void EventDelivered(ILogger logger, string eventId, string type, string connectionId, int attempt);

    [LoggerMessage(5002, LogLevel.Warning, "Event {EventId} of connection {ConnectionId}: the webhook answered {Error} (try {Attempt}); tried again at {RetryAt:O}")]
    public static partial void EventDeliveryRetried(ILogger logger, string eventId, string connectionId, int attempt, string? error, DateTimeOffset retryAt);

    [LoggerMessage(5003, LogLevel.Error, "Event {EventId} ({Type}) of connection {ConnectionId} could not be delivered in {Attempts} tries (last: {Error}); it is kept as failed: GET /api/events/failed, POST /api/events/{EventId}/redeliver")]
    public static partial void EventDeliveryFailed(ILogger logger, string eventId, string type, string connectionId, int attempts, string? error);

    [LoggerMessage(5004, LogLevel.Warning, "The webhook receiver answered 410 Gone: webhook delivery is off for Events__WebhookUrl until it is changed; events stay in the feed (GET /api/events)")]
    public static partial void WebhookGone(ILogger logger);

    [LoggerMessage(5005, LogLevel.Warning, "Events of connection {ConnectionId} not delivered now: storage is unavailable (status {Status}); their reminder brings them back")]
    public static partial void EventDeliveryDeferred(ILogger logger, string connectionId, int status);

    [LoggerMessage(5006, LogLevel.Information, "Event {EventId} of connection {ConnectionId} queued for redelivery")]
    public static partial void EventRedelivered(ILogger logger, string eventId, string connectionId);

    [LoggerMessage(5007, LogLevel.Information, "Event sweep: {Due} outboxes due, {Enqueued} enqueued; {Purged} feed entries past retention removed")]
    public static partial void EventsSwept(ILogger logger, int due, int enqueued, int purged);

    [LoggerMessage(5008, LogLevel.Warning, "Event sweep: storage is unavailable (status {Status}); {Enqueued} enqueued before it failed, the rest a minute later")]
    public static partial void EventSweepInterrupted(ILogger logger, int status, int enqueued);

    [LoggerMessage(5009, LogLevel.Information, "Connection {ConnectionId}: its event could not be queued now (storage status {Status}); its reminder brings it within a minute")]
    public static partial void EventNotifyDeferred(ILogger logger, string connectionId, int status);
}
