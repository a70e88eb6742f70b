using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using FreshBooksConnect.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.DependencyInjection;

public static class FreshBooksConnectTelemetryServiceCollectionExtensions
{
    /// <summary>The ASP.NET Core category whose request lines carry full URLs (the callback's code and state, onboarding links).</summary>
    private const string RequestLogCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>
    /// OpenTelemetry for the product, the one telemetry registration of the function app and the local host: the
    /// <c>FreshBooksConnect</c> spans and meter and the logs, every query string taken off every span before export, and the
    /// exporters the settings ask for (<see cref="TelemetryOptions"/>): Azure Monitor, OTLP, the one-line summary, or none. A host
    /// adds what its platform needs to the builder it returns (the worker's defaults; the local host's request spans).
    /// </summary>
    public static IOpenTelemetryBuilder AddFreshBooksConnectTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TelemetryOptions>().Configure(o => TelemetryOptions.Bind(o, configuration)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TelemetryOptions>, TelemetryOptionsValidator>());
        var options = TelemetryOptions.From(configuration);

        // Pinned after configuration is read, so no setting sends a request line (and its query string) to an exporter.
        services.PostConfigure<LoggerFilterOptions>(filters =>
        {
            foreach (var rule in filters.Rules.Where(r => r.CategoryName?.StartsWith(RequestLogCategory, StringComparison.OrdinalIgnoreCase) == true).ToList())
            {
                filters.Rules.Remove(rule);
            }

            filters.Rules.Add(new LoggerFilterRule(null, RequestLogCategory, LogLevel.Warning, null));
        });

        // The redaction is added before any exporter, so it runs first on every span.
        var telemetry = services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddSource(ConnectTelemetry.SourceName).AddProcessor(new QueryStringRedaction()))
            .WithMetrics(metrics => metrics.AddMeter(RenewalMetrics.MeterName))
            .WithLogging(configureBuilder: null, configureOptions: logging => logging.IncludeFormattedMessage = true);

        if (options.OtlpEndpoint is not null)
        {
            // Reads OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, _HEADERS from configuration.
            telemetry.UseOtlpExporter();
        }

        if (options.ApplicationInsightsConnectionString is { } connectionString)
        {
            telemetry.UseAzureMonitorExporter(azureMonitor =>
            {
                azureMonitor.ConnectionString = connectionString;
                azureMonitor.Credential = ManagedIdentity(options);

                // Every log line is kept whatever the trace sampling decides: the alerts count them (event 2004 fires on one).
                azureMonitor.EnableTraceBasedLogsSampler = false;
            });
        }

        if (options.SummaryInterval is { } interval)
        {
            services.ConfigureOpenTelemetryMeterProvider((provider, metrics) => metrics.AddReader(
                new PeriodicExportingMetricReader(new TelemetrySummary(interval, provider.GetRequiredService<ILogger<TelemetrySummary>>()), (int)interval.TotalMilliseconds)
                {
                    TemporalityPreference = MetricReaderTemporalityPreference.Delta,
                }));
        }

        return telemetry;
    }

    /// <summary>The identity <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c> names; null (instrumentation key only) without it.</summary>
    private static TokenCredential? ManagedIdentity(TelemetryOptions options) =>
        !options.TryGetManagedIdentity(out var clientId) ? null
        : clientId is null ? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
        : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
}
