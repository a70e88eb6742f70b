using System.Diagnostics;
using System.Text;

namespace FreshBooksConnect.Diagnostics;

/// <summary>
/// The product's traces (activity source <c>FreshBooksConnect</c>): one span per operation an operator asks about, named here
/// once (the workbook and the README use these names). Spans carry ids, outcomes and FreshBooks' status and error code only:
/// never a token, code, state, link or key.
/// </summary>
public static class ConnectTelemetry
{
    public const string SourceName = "FreshBooksConnect";

    internal const string ConsentStartSpan = "consent.start";
    internal const string ConsentCallbackSpan = "consent.callback";
    internal const string TokenRequestSpan = "token.request";
    internal const string RenewalSpan = "renewal";
    internal const string LeaseSpan = "renewal.lease";
    internal const string SaveSpan = "renewal.save";
    internal const string SweepSpan = "renewal.sweep";
    internal const string RenewalMessageSpan = "renewal.message";
    internal const string RemovalSpan = "connection.remove";
    internal const string ExchangeCodeSpan = "freshbooks.exchange_code";
    internal const string RefreshSpan = "freshbooks.refresh";
    internal const string IdentitySpan = "freshbooks.identity";
    internal const string RevokeSpan = "freshbooks.revoke";

    internal const string ConnectionIdTag = "connection.id";
    internal const string OutcomeTag = "outcome";
    internal const string ReasonTag = "reason";
    internal const string TokenCacheTag = "token_cache";
    internal const string StatusTag = "status";
    internal const string HttpStatusTag = "http.response.status_code";
    internal const string FreshBooksErrorTag = "freshbooks.error";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts a span as a child of the current one; null when nobody listens.</summary>
    internal static Activity? StartSpan(string name, string? connectionId = null, ActivityKind kind = ActivityKind.Internal)
    {
        var span = Source.StartActivity(name, kind);
        if (connectionId is not null)
        {
            span?.SetTag(ConnectionIdTag, connectionId);
        }

        return span;
    }

    /// <summary>
    /// Starts a span as a child of the current one (the function invocation's) and linked to the trace that asked for it
    /// (<paramref name="traceParent"/>, W3C), as a queue message's handler is to the sweep that queued the message.
    /// </summary>
    internal static Activity? StartLinkedSpan(string name, string connectionId, string? traceParent)
    {
        var links = ActivityContext.TryParse(traceParent, null, out var queuedBy) ? [new ActivityLink(queuedBy)] : Array.Empty<ActivityLink>();
        var span = Source.StartActivity(name, ActivityKind.Internal, parentContext: default, links: links);
        span?.SetTag(ConnectionIdTag, connectionId);
        return span;
    }

    /// <summary>Names the connection on the current span when it is one of ours (learnt after the span started).</summary>
    internal static void TagConnection(string? connectionId)
    {
        if (connectionId is not null && Activity.Current is { } span && span.Source == Source)
        {
            span.SetTag(ConnectionIdTag, connectionId);
        }
    }

    /// <summary>Records how the operation ended, as the same word the metrics use.</summary>
    internal static void SetOutcome(this Activity? span, Enum outcome) => span?.SetTag(OutcomeTag, TagValue(outcome));

    /// <summary>An enum value as a tag value: <c>NeedsReconsent</c> is <c>needs_reconsent</c>.</summary>
    internal static string TagValue(Enum value)
    {
        var name = value.ToString();
        var builder = new StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && builder.Length > 0)
            {
                builder.Append('_');
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }
}
