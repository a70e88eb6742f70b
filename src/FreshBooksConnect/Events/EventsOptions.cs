using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Events;

/// <summary>
/// Connection events (section <c>Events</c>): <c>Events__WebhookUrl</c> receives each event as a signed POST (Standard
/// Webhooks; https, http only for loopback), signed with <c>Events__SigningSecret</c> (<c>whsec_…</c>). Without a webhook URL the
/// event feed (<c>GET /api/events</c>) still has every event.
/// </summary>
public sealed class EventsOptions
{
    public const string SectionName = "Events";

    /// <summary>Where each event is POSTed; null: feed only (<c>Events__WebhookUrl</c>).</summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>The Standard Webhooks signing secret, <c>whsec_</c> and base64 (<c>Events__SigningSecret</c>).</summary>
    public string? SigningSecret { get; set; }

    /// <summary>Renewal failures for this long (or an access token that expired while failing) make a <c>connection.renewal_failing</c> event.</summary>
    public TimeSpan FailingAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long events stay in the feed (default 30 days).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long a webhook receiver may take to answer one delivery.</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a delivery is retried (5 s, 1 min, 10 min, 1 h, then every 4 hours) before the event is kept as failed.</summary>
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromDays(1);
}

internal sealed class EventsOptionsValidator : IValidateOptions<EventsOptions>
{
    public ValidateOptionsResult Validate(string? name, EventsOptions options)
    {
        var failures = new List<string>();
        if (options.WebhookUrl is { } url)
        {
            if (!url.IsAbsoluteUri || !(url.Scheme == Uri.UriSchemeHttps || (url.Scheme == Uri.UriSchemeHttp && url.IsLoopback)))
            {
                failures.Add("Events__WebhookUrl must be an absolute https URL (http only for localhost).");
            }

            if (!IsSigningSecret(options.SigningSecret))
            {
                failures.Add("Events__SigningSecret is required with Events__WebhookUrl: whsec_ followed by base64 of 24 to 64 random bytes.");
            }
        }
        else if (options.SigningSecret is { Length: > 0 } && !IsSigningSecret(options.SigningSecret))
        {
            failures.Add("Events__SigningSecret must be whsec_ followed by base64 of 24 to 64 random bytes.");
        }

        if (options.FailingAfter <= TimeSpan.Zero || options.FailingAfter > TimeSpan.FromDays(7))
        {
            failures.Add("Events__FailingAfter must be between 0 and 7 days.");
        }

        if (options.Retention < TimeSpan.FromDays(1) || options.Retention > TimeSpan.FromDays(365))
        {
            failures.Add("Events__Retention must be between 1 and 365 days.");
        }

        if (options.DeliveryTimeout <= TimeSpan.Zero || options.DeliveryTimeout > TimeSpan.FromMinutes(1))
        {
            failures.Add("Events__DeliveryTimeout must be between 0 and 1 minute.");
        }

        if (options.GiveUpAfter < TimeSpan.FromMinutes(1) || options.GiveUpAfter > TimeSpan.FromDays(7))
        {
            failures.Add("Events__GiveUpAfter must be between 1 minute and 7 days.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static bool IsSigningSecret(string? secret)
    {
        const string Prefix = "whsec_";
        if (secret is null || !secret.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var bytes = new byte[64];
        return Convert.TryFromBase64String(secret[Prefix.Length..], bytes, out var length) && length is >= 24 and <= 64;
    }
}
