using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>
/// The parts of <c>host.json</c> the local host honours. As in Functions, a setting
/// <c>AzureFunctionsJobHost__path__to__value</c> overrides the file.
/// </summary>
internal sealed class HostSettings
{
    public const string FileName = "host.json";

    private HostSettings(IConfiguration host) => Host = host;

    private IConfiguration Host { get; }

    /// <summary><c>extensions.http.routePrefix</c>, default <c>api</c>; may be empty.</summary>
    public string RoutePrefix => (Host["extensions:http:routePrefix"] ?? "api").Trim('/');

    /// <summary><c>functions</c>: when present, only these functions are loaded.</summary>
    public IReadOnlyList<string>? FunctionsFilter
    {
        get
        {
            var section = Host.GetSection("functions");
            return section.Exists() ? section.GetChildren().Select(c => c.Value ?? string.Empty).ToArray() : null;
        }
    }

    public QueueHostSettings Queues => new(
        MaxDequeueCount: Math.Max(1, Int("extensions:queues:maxDequeueCount", 5)),
        BatchSize: Math.Clamp(Int("extensions:queues:batchSize", 16), 1, 32),
        VisibilityTimeout: Time("extensions:queues:visibilityTimeout", TimeSpan.Zero),
        MaxPollingInterval: Time("extensions:queues:maxPollingInterval", TimeSpan.FromSeconds(2)),
        Base64: !string.Equals(Host["extensions:queues:messageEncoding"], "none", StringComparison.OrdinalIgnoreCase));

    public static HostSettings Load(string functionAppDirectory, IConfiguration appConfiguration)
    {
        var builder = new ConfigurationBuilder();
        var path = Path.Combine(functionAppDirectory, FileName);
        if (File.Exists(path))
        {
            builder.AddJsonFile(path, optional: true, reloadOnChange: false);
        }

        builder.AddConfiguration(appConfiguration.GetSection("AzureFunctionsJobHost"), shouldDisposeConfiguration: false);
        return new HostSettings(builder.Build());
    }

    private int Int(string key, int fallback) =>
        int.TryParse(Host[key], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    private TimeSpan Time(string key, TimeSpan fallback) =>
        TimeSpan.TryParse(Host[key], CultureInfo.InvariantCulture, out var value) && value >= TimeSpan.Zero ? value : fallback;
}

/// <summary><c>extensions.queues</c> of host.json.</summary>
/// <param name="MaxDequeueCount">Attempts before a message goes to <c>&lt;queue&gt;-poison</c> (default 5).</param>
/// <param name="BatchSize">Messages fetched and run at once per queue function (default 16, at most 32).</param>
/// <param name="VisibilityTimeout">How long a failed message stays invisible before its retry (default 0).</param>
/// <param name="MaxPollingInterval">The longest wait between polls of an idle queue (default here: 2 s).</param>
/// <param name="Base64">Messages are Base64 text (the default; <c>messageEncoding: none</c> turns it off).</param>
internal sealed record QueueHostSettings(int MaxDequeueCount, int BatchSize, TimeSpan VisibilityTimeout, TimeSpan MaxPollingInterval, bool Base64);
