using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Diagnostics;

/// <summary>
/// Where telemetry goes; each exporter is on when its setting is set. <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c>: Application
/// Insights (Azure Monitor exporter), authenticated as the managed identity that <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c>
/// names (<c>ClientId={client id};Authorization=AAD</c>, or <c>Authorization=AAD</c> for the system-assigned identity), the same
/// settings the Functions host reads. <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (with the other <c>OTEL_EXPORTER_OTLP_*</c>): any OTLP
/// collector. <c>Telemetry__SummaryInterval</c>: a one-line summary in the log at that interval (locally, <c>00:01:00</c>).
/// </summary>
public sealed class TelemetryOptions
{
    public const string SectionName = "Telemetry";
    public const string ConnectionStringSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";
    public const string AuthenticationSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    private const string EntraAuthorization = "AAD";

    public string? ApplicationInsightsConnectionString { get; set; }

    public string? ApplicationInsightsAuthentication { get; set; }

    public string? OtlpEndpoint { get; set; }

    /// <summary>How often the summary line is logged; null: never.</summary>
    public TimeSpan? SummaryInterval { get; set; }

    internal static TelemetryOptions From(IConfiguration configuration)
    {
        var options = new TelemetryOptions();
        Bind(options, configuration);
        return options;
    }

    internal static void Bind(TelemetryOptions options, IConfiguration configuration)
    {
        configuration.GetSection(SectionName).Bind(options);
        options.ApplicationInsightsConnectionString = NullIfEmpty(configuration[ConnectionStringSetting]);
        options.ApplicationInsightsAuthentication = NullIfEmpty(configuration[AuthenticationSetting]);
        options.OtlpEndpoint = NullIfEmpty(configuration[OtlpEndpointSetting]);
    }

    /// <summary>
    /// Reads <see cref="ApplicationInsightsAuthentication"/>: true with the identity's client id (null: system-assigned) when it asks
    /// for Entra ID; false when it is unset or malformed.
    /// </summary>
    internal bool TryGetManagedIdentity(out string? clientId)
    {
        clientId = null;
        if (ApplicationInsightsAuthentication is not { } authentication)
        {
            return false;
        }

        var parts = authentication.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2, StringSplitOptions.TrimEntries))
            .ToList();
        if (parts.Any(part => part.Length != 2 || part[1].Length == 0))
        {
            return false;
        }

        var values = parts.GroupBy(part => part[0], StringComparer.OrdinalIgnoreCase).ToDictionary(group => group.Key, group => group.Last()[1], StringComparer.OrdinalIgnoreCase);
        clientId = values.GetValueOrDefault("ClientId");
        return values.TryGetValue("Authorization", out var authorization) && authorization.Equals(EntraAuthorization, StringComparison.OrdinalIgnoreCase);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

internal sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        var failures = new List<string>();
        if (options.ApplicationInsightsAuthentication is not null && !options.TryGetManagedIdentity(out _))
        {
            failures.Add($"{TelemetryOptions.AuthenticationSetting} must be ClientId=<the identity's client id>;Authorization=AAD (or Authorization=AAD).");
        }

        if (options.OtlpEndpoint is { } endpoint && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
        {
            failures.Add($"{TelemetryOptions.OtlpEndpointSetting} must be an http(s) URL, e.g. http://127.0.0.1:4317.");
        }

        if (options.SummaryInterval is { } interval && interval < TimeSpan.FromSeconds(1))
        {
            failures.Add("Telemetry__SummaryInterval must be at least 00:00:01 (e.g. 00:01:00), or unset.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
