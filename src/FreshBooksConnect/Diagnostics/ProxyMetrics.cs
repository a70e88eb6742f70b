using System.Diagnostics.Metrics;
using FreshBooksConnect.Proxy;

namespace FreshBooksConnect.Diagnostics;

/// <summary>Counters of proxied FreshBooks calls by outcome and status, and of calls sent again after a 401 (meter <c>FreshBooksConnect</c>).</summary>
public sealed class ProxyMetrics
{
    private readonly Counter<long> _requests;
    private readonly Counter<long> _retries;

    public ProxyMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(RenewalMetrics.MeterName);
        _requests = meter.CreateCounter<long>("freshbooks.proxy.requests", description: "Calls to the FreshBooks proxy, by outcome and FreshBooks' status");
        _retries = meter.CreateCounter<long>("freshbooks.proxy.token_retries", description: "Proxied calls sent again with a newer token after FreshBooks answered 401");
    }

    internal void RecordRequest(ProxyOutcome outcome, int status) =>
        _requests.Add(1, new KeyValuePair<string, object?>("outcome", outcome.ToString()), new KeyValuePair<string, object?>("status", status));

    internal void RecordRetry() => _retries.Add(1);
}
