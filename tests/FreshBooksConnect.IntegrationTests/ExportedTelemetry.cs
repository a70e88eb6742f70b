using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// What an app exports through OpenTelemetry, kept in memory: its spans and metric snapshots through the in-memory exporter, its
/// log records as the text an exporter would send. Registered the way the hosts register telemetry, plus these exporters.
/// </summary>
public sealed class ExportedTelemetry
{
    private readonly List<Activity> _spans = [];
    private readonly List<MetricSnapshot> _metrics = [];
    private readonly ConcurrentQueue<ExportedLog> _logs = new();

    /// <summary>The spans ended so far (read once the app is idle: the exporter adds to the list as spans end).</summary>
    public IReadOnlyList<Activity> Spans => [.. _spans];

    public IReadOnlyList<ExportedLog> Logs => [.. _logs];

    /// <summary>For <see cref="ConnectStack.StartAppAsync"/>'s <c>withSettings</c>: the hosts' registration and the in-memory exporters.</summary>
    public void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddFreshBooksConnectTelemetry(configuration);
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans));
        services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddInMemoryExporter(_metrics));
        services.ConfigureOpenTelemetryLoggerProvider(logging => logging.AddProcessor(new SimpleLogRecordExportProcessor(new LogSnapshots(_logs))));
    }

    /// <summary>Exports whatever the app's providers hold now (metrics: one snapshot of every instrument).</summary>
    public void Flush(AppInstance app)
    {
        Assert.True(app.Services.GetRequiredService<TracerProvider>().ForceFlush());
        Assert.True(app.Services.GetRequiredService<LoggerProvider>().ForceFlush());
        lock (_metrics)
        {
            Assert.True(app.Services.GetRequiredService<MeterProvider>().ForceFlush());
        }
    }

    /// <summary>The latest snapshot of every metric, by name.</summary>
    public IReadOnlyDictionary<string, MetricSnapshot> LatestMetrics()
    {
        lock (_metrics)
        {
            return _metrics.GroupBy(m => m.Name).ToDictionary(g => g.Key, g => g.Last());
        }
    }

    /// <summary>Every metric snapshot taken so far.</summary>
    public IReadOnlyList<MetricSnapshot> AllMetrics()
    {
        lock (_metrics)
        {
            return [.. _metrics];
        }
    }

    /// <summary>Everything an exporter could send of a span, as one string to search.</summary>
    public static string Everything(Activity span) => string.Join('\n', [
        span.DisplayName, span.OperationName, span.StatusDescription ?? "", span.TraceStateString ?? "",
        .. span.TagObjects.Select(t => $"{t.Key}={Text(t.Value)}"),
        .. span.Events.SelectMany(e => new[] { e.Name }.Concat(e.Tags.Select(t => $"{t.Key}={Text(t.Value)}"))),
        .. span.Links.SelectMany(l => (l.Tags ?? []).Select(t => $"{t.Key}={Text(t.Value)}")),
        .. span.Baggage.Select(b => $"{b.Key}={b.Value}")]);

    /// <summary>Everything an exporter could send of a metric's points, as one string to search.</summary>
    public static string Everything(MetricSnapshot metric) => string.Join('\n', [
        metric.Name, metric.Description, metric.Unit,
        .. metric.MetricPoints.SelectMany(point => Tags(point).Select(t => $"{t.Key}={t.Value}"))]);

    public static IReadOnlyDictionary<string, string> Tags(MetricPoint point)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var tag in point.Tags)
        {
            tags[tag.Key] = Text(tag.Value);
        }

        return tags;
    }

    private static string Text(object? value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";

    /// <summary>Log records are reused once exported: each is kept as the text an exporter sends of it.</summary>
    private sealed class LogSnapshots(ConcurrentQueue<ExportedLog> logs) : BaseExporter<LogRecord>
    {
        public override ExportResult Export(in Batch<LogRecord> batch)
        {
            foreach (var record in batch)
            {
                var attributes = (record.Attributes ?? []).Select(a => $"{a.Key}={Text(a.Value)}").ToList();
                logs.Enqueue(new ExportedLog(record.CategoryName ?? "", record.EventId.Id, record.FormattedMessage ?? record.Body ?? "", attributes, record.Exception?.ToString()));
            }

            return ExportResult.Success;
        }
    }
}

/// <summary>One exported log record: its category, event id, message, attributes and exception.</summary>
public sealed record ExportedLog(string Category, int EventId, string Message, IReadOnlyList<string> Attributes, string? Exception)
{
    public string Everything => string.Join('\n', [Category, Message, .. Attributes, Exception ?? ""]);

    public override string ToString() => $"{Category} ({EventId}): {Message}";
}
