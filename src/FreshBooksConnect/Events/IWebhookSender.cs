namespace FreshBooksConnect.Events;

public enum WebhookOutcome
{
    /// <summary>The receiver answered 2xx.</summary>
    Delivered,

    /// <summary>The receiver answered 410 Gone: it wants no more deliveries.</summary>
    Gone,

    /// <summary>Anything else: refused, timed out, 3xx, 4xx, 5xx. Tried again later.</summary>
    Failed,
}

/// <summary>How one delivery ended; <see cref="Error"/> says why it failed (a status or a transport failure, never a body).</summary>
public sealed record WebhookResult(WebhookOutcome Outcome, string? Error = null);

/// <summary>POSTs one event to the configured webhook, signed per the Standard Webhooks spec.</summary>
public interface IWebhookSender
{
    /// <summary>False when no webhook is configured (events go to the feed only).</summary>
    bool IsConfigured { get; }

    /// <summary>A key for the configured URL (a hash, so no URL is stored), under which a 410 is remembered.</summary>
    string UrlKey { get; }

    Task<WebhookResult> SendAsync(ConnectionEvent connectionEvent, CancellationToken cancellationToken);
}
