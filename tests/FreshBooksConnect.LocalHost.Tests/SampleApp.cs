using System.Text.Json;
using System.Text.Json.Nodes;
using LocalHostSample.Functions;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.LocalHost.Tests;

/// <summary>The sample function app (tests/LocalHostSample.Functions) as the tests start it.</summary>
internal static class SampleApp
{
    /// <summary>Its build output folder inside the test output (see the ProjectReference in the csproj).</summary>
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "function-apps", "sample");

    /// <summary>The real function app's folder inside the test output.</summary>
    public static string RealAppDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "function-apps", "real");

    /// <summary>
    /// Options for the sample: no local.settings.json, no queue polling, a timer that won't fire during a test, queue
    /// names of its own; the sample's services; console logging quiet.
    /// </summary>
    public static LocalHostOptions Options(LogCollector? logs = null)
    {
        var unique = Guid.NewGuid().ToString("N")[..12];
        var options = new LocalHostOptions
        {
            FunctionAppDirectory = Directory,
            LoadLocalSettingsFile = false,
            RunQueues = false,
            ConfigureServices = (services, _) =>
            {
                services.AddLocalHostSample();
                if (logs is not null)
                {
                    services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs);
                }
            },
        };
        options.Settings["SampleSchedule"] = "0 0 0 1 1 *";
        options.Settings["SampleTextQueue"] = $"text-{unique}";
        options.Settings["SampleOrdersQueue"] = $"orders-{unique}";
        options.Settings["Logging:Console:LogLevel:Default"] = "Warning";
        return options;
    }

    public static HttpClient Client(this LocalFunctionsHost host) => new() { BaseAddress = host.BaseUri };

    public static InvocationLog Log(this LocalFunctionsHost host) => host.Services.GetRequiredService<InvocationLog>();

    /// <summary>A function app's functions.metadata, read independently of the local host.</summary>
    public static JsonArray Metadata(string directory) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "functions.metadata")))!.AsArray();

    /// <summary>The route prefix of a function app's host.json (default "api").</summary>
    public static string RoutePrefix(string directory)
    {
        using var hostJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "host.json")));
        return hostJson.RootElement.TryGetProperty("extensions", out var extensions) &&
               extensions.TryGetProperty("http", out var http) &&
               http.TryGetProperty("routePrefix", out var prefix)
            ? prefix.GetString()!
            : "api";
    }
}
