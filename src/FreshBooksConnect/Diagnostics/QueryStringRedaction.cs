using System.Diagnostics;
using OpenTelemetry;

namespace FreshBooksConnect.Diagnostics;

/// <summary>
/// Takes every query string off every span before it is exported: <c>/api/connect</c>'s holds the onboarding link, the
/// callback's FreshBooks' code and the consent state, and a <c>?code=</c> may be a function key. Instrumentations only replace
/// the values (<c>?link=Redacted</c>); here the query goes altogether, from <c>url.query</c>, <c>url.full</c> and the name.
/// Registered before any exporter, so no exporter sees a span before it.
/// </summary>
internal sealed class QueryStringRedaction : BaseProcessor<Activity>
{
    private static readonly string[] QueryTags = ["url.query", "http.target", "url.original"];
    private static readonly string[] UrlTags = ["url.full", "http.url"];

    public override void OnEnd(Activity data)
    {
        foreach (var tag in QueryTags)
        {
            if (data.GetTagItem(tag) is string value && (tag == "url.query" || value.Contains('?', StringComparison.Ordinal)))
            {
                data.SetTag(tag, tag == "url.query" ? null : WithoutQuery(value));
            }
        }

        foreach (var tag in UrlTags)
        {
            if (data.GetTagItem(tag) is string url && url.Contains('?', StringComparison.Ordinal))
            {
                data.SetTag(tag, WithoutQuery(url));
            }
        }

        if (data.DisplayName.Contains('?', StringComparison.Ordinal))
        {
            data.DisplayName = WithoutQuery(data.DisplayName);
        }
    }

    private static string WithoutQuery(string value) => value[..value.IndexOf('?', StringComparison.Ordinal)];
}
