using OpenTelemetry;
using OpenTelemetry.Metrics;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Diagnostics;

/// <summary>
/// The local one-line summary (<c>Telemetry__SummaryInterval</c>): a metric exporter on a reader of its own, with delta
/// temporality so each line counts only its interval, that writes one log line (event 6001) per interval.
/// </summary>
internal sealed class TelemetrySummary(TimeSpan interval, ILogger<TelemetrySummary> logger) : BaseExporter<Metric>
{
    public override ExportResult Export(in Batch<Metric> batch)
    {
        var sums = new Dictionary<(string Metric, string Outcome), long>();
        var connections = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var metric in batch)
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                var outcome = "";
                var status = "";
                foreach (var tag in point.Tags)
                {
                    switch (tag.Key)
                    {
                        case ConnectTelemetry.OutcomeTag:
                            outcome = tag.Value as string ?? "";
                            break;
                        case ConnectTelemetry.StatusTag:
                            status = tag.Value as string ?? "";
                            break;
                    }
                }

                switch (metric.MetricType)
                {
                    case MetricType.LongSum:
                        sums[(metric.Name, outcome)] = sums.GetValueOrDefault((metric.Name, outcome)) + point.GetSumLong();
                        break;
                    case MetricType.LongGauge when metric.Name == "freshbooks.connections":
                        connections[status] = point.GetGaugeLastValueLong();
                        break;
                }
            }
        }

        long Sum(string metric, string? outcome = null) =>
            sums.Where(pair => pair.Key.Metric == metric && (outcome is null || pair.Key.Outcome == outcome)).Sum(pair => pair.Value);

        Log.TelemetrySummary(
            logger,
            (int)interval.TotalSeconds,
            Sum("freshbooks.renewals", "renewed"),
            Sum("freshbooks.renewals", "failed"),
            Sum("freshbooks.renewals", "needs_reconsent"),
            Sum("freshbooks.consents"),
            Sum("freshbooks.consents", "connected"),
            Sum("freshbooks.token_requests"),
            connections.Count == 0 ? "not counted yet (a renewal sweep counts them)" : string.Join(", ", connections.Select(pair => $"{pair.Value} {pair.Key}")));
        return ExportResult.Success;
    }
}
