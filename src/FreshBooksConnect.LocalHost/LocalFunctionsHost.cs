using FreshBooksConnect.LocalHost.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;

namespace FreshBooksConnect.LocalHost;

/// <summary>
/// Serves an isolated-worker function app (ASP.NET Core integration) the way the Functions host does, without Core
/// Tools: its HTTP functions on Kestrel, its timers on their schedules, its queue functions from Azure Storage queues,
/// and the admin endpoint. The functions come from the app's SDK-generated <c>functions.metadata</c>; the app's
/// services come from <see cref="LocalHostOptions.ConfigureServices"/>.
/// </summary>
public sealed class LocalFunctionsHost : IAsyncDisposable
{
    private const string RequestLogCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;
    private readonly IReadOnlyList<FunctionDescriptor> _functions;
    private readonly FunctionKeys _keys;
    private readonly TriggerListeners _triggers;
    private int _disposed;

    private LocalFunctionsHost(WebApplication app, IReadOnlyList<FunctionDescriptor> functions, FunctionKeys keys, Uri baseUri)
    {
        _app = app;
        _functions = functions;
        _keys = keys;
        _triggers = app.Services.GetRequiredService<TriggerListeners>();
        BaseUri = baseUri;
        Functions = functions.Select(f => f.Function).ToArray();
    }

    /// <summary>The address the host listens on (the first one, when several), e.g. <c>http://127.0.0.1:7071/</c>.</summary>
    public Uri BaseUri { get; }

    /// <summary>The host's services: the app's registrations, the configuration, logging.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The function key (<c>LocalHost:FunctionKey</c>, or generated for this run).</summary>
    public string FunctionKey => _keys.FunctionKey;

    /// <summary>The master key (<c>LocalHost:MasterKey</c>, or generated for this run): every level, and the admin endpoints.</summary>
    public string MasterKey => _keys.MasterKey;

    /// <summary>The functions loaded from <c>functions.metadata</c>, in its order.</summary>
    public IReadOnlyList<LocalFunction> Functions { get; }

    /// <summary>
    /// Loads the function app, checks that everything in it can be served, builds the services and starts listening.
    /// Throws <see cref="LocalHostStartupException"/> listing every unsupported trigger, binding, parameter or missing
    /// setting, or a sample key while the host is public (<see cref="LocalHostOptions.PublicUrlSetting"/>); whatever the
    /// app's own start-up throws (e.g. options validation) comes through as is.
    /// </summary>
    public static async Task<LocalFunctionsHost> StartAsync(LocalHostOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var appDirectory = Path.GetFullPath(options.FunctionAppDirectory);
        var metadataPath = Path.Combine(appDirectory, FunctionMetadataFile.FileName);
        if (!File.Exists(metadataPath))
        {
            throw new LocalHostStartupException([
                $"{metadataPath} was not found. Build the function app (the local host's build copies its functions.metadata and host.json), " +
                "or point FunctionAppDirectory at its build output."]);
        }

        var currentDirectory = Directory.GetCurrentDirectory();
        var localSettingsPath = options.LoadLocalSettingsFile ? AppSettings.FindLocalSettingsFile(currentDirectory, appDirectory) : null;
        var settings = new ConfigurationBuilder()
            .AddInMemoryCollection(localSettingsPath is null ? [] : AppSettings.ReadLocalSettings(localSettingsPath))
            .AddEnvironmentVariables()
            .AddCommandLine([.. options.Args])
            .AddInMemoryCollection(options.Settings)
            .Build();

        var host = HostSettings.Load(appDirectory, settings);
        var functions = FunctionIndexer.Index(appDirectory, FunctionMetadataFile.Read(metadataPath), host, settings);
        var plan = TriggerPlan.Create(functions, settings, host, options.RunTimers, options.RunQueues, options.TimerTimeProvider.GetUtcNow());
        var keys = FunctionKeys.From(settings);
        var publicAddress = PublicAddress.From(settings, options.PublicUrlSetting);
        if (publicAddress.SampleKeyProblems(settings) is { Count: > 0 } sampleKeys)
        {
            throw new LocalHostStartupException(sampleKeys);
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [.. options.Args],
            ContentRootPath = currentDirectory,
            ApplicationName = functions.FirstOrDefault()?.Method.DeclaringType?.Assembly.GetName().Name,
            EnvironmentName = settings["AZURE_FUNCTIONS_ENVIRONMENT"] ?? settings["DOTNET_ENVIRONMENT"] ?? "Development",
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(settings);
        builder.WebHost.UseUrls(settings["urls"] ?? options.Urls);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        // ASP.NET Core's request log prints full URLs: the callback's code and state, onboarding links, `?code=` keys.
        // Pinned after configuration is read, so no setting can turn it back on.
        builder.Services.PostConfigure<LoggerFilterOptions>(filters =>
        {
            foreach (var rule in filters.Rules.Where(r => r.CategoryName?.StartsWith(RequestLogCategory, StringComparison.OrdinalIgnoreCase) == true).ToList())
            {
                filters.Rules.Remove(rule);
            }

            filters.Rules.Add(new LoggerFilterRule(null, RequestLogCategory, LogLevel.Warning, null));
        });

        // Only these Host values, whatever the settings say: the framework's host filtering reads an AllowedHosts setting
        // only when this list is empty.
        builder.Services.Configure<HostFilteringOptions>(hostFiltering => hostFiltering.AllowedHosts = [.. publicAddress.AllowedHosts]);

        // As ConfigureFunctionsWebApplication: IActionResults (ObjectResult, ProblemDetails) need MVC core's executors.
        builder.Services.AddMvcCore();
        builder.Services.AddSingleton(plan);
        builder.Services.AddSingleton<FunctionInvoker>();
        builder.Services.AddSingleton(provider => new TriggerListeners(
            plan, provider.GetRequiredService<FunctionInvoker>(), options.TimerTimeProvider, provider.GetRequiredService<ILoggerFactory>()));
        options.ConfigureServices?.Invoke(builder.Services, builder.Configuration);

        // The Functions host records each HTTP request; here this host does, for an app that traces (inert for one that doesn't).
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/admin", StringComparison.OrdinalIgnoreCase)));
        builder.Services.AddHostedService(provider => provider.GetRequiredService<TriggerListeners>());

        var app = builder.Build();
        HttpEndpoints.MapAdmin(app, functions, keys);
        HttpEndpoints.MapFunctions(app, functions, keys);

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("FreshBooksConnect.LocalHost");
        if (localSettingsPath is not null)
        {
            LocalHostLog.LocalSettingsRead(logger, localSettingsPath);
        }

        LocalHostLog.FunctionsLoaded(logger, functions.Count, metadataPath);
        if (keys.FunctionKeyGenerated)
        {
            LocalHostLog.KeyGenerated(logger, FunctionKeys.FunctionKeySetting);
        }

        if (keys.MasterKeyGenerated)
        {
            LocalHostLog.KeyGenerated(logger, FunctionKeys.MasterKeySetting);
        }

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
            .Select(a => new Uri(a.EndsWith('/') ? a : a + "/"))
            .OrderBy(u => u.Scheme == Uri.UriSchemeHttp ? 0 : 1)
            .FirstOrDefault() ?? throw new InvalidOperationException("Kestrel reported no address.");
        return new LocalFunctionsHost(app, functions, keys, address);
    }

    /// <summary>
    /// Runs a timer or queue function now and waits for it, as the admin endpoint does (timer: with a TimerInfo;
    /// queue: <paramref name="input"/> is the message). Throws what the function throws. Disabled functions run too.
    /// </summary>
    public Task InvokeAsync(string functionName, string? input = null, CancellationToken cancellationToken = default)
    {
        var function = _functions.FirstOrDefault(f => f.Name.Equals(functionName, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"There is no function named '{functionName}'.", nameof(functionName));
        return _triggers.InvokeNowAsync(function, input, cancellationToken);
    }

    /// <summary>Waits until the host is asked to stop (Ctrl+C, SIGTERM) or <paramref name="cancellationToken"/> fires.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>
    /// Writes what <c>func start</c> shows: each function (HTTP with methods, URL and auth level) and the keys. Keys
    /// generated for this run are printed (they are local development keys); configured ones are not.
    /// </summary>
    public void WriteSummary(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteLine();
        writer.WriteLine("Functions:");
        writer.WriteLine();
        foreach (var function in Functions)
        {
            var disabled = function.IsDisabled ? " (disabled)" : string.Empty;
            writer.WriteLine(function.TriggerType switch
            {
                LocalTriggerType.Http =>
                    $"        {function.Name}: [{(function.Methods.Count == 0 ? "ANY" : string.Join(",", function.Methods))}] " +
                    $"{new Uri(BaseUri, function.Route)}  ({function.AuthLevel}){disabled}",
                LocalTriggerType.Timer =>
                    $"        {function.Name}: timerTrigger '{function.Schedule}'{(function.RunOnStartup ? " runOnStartup" : string.Empty)}{disabled}",
                _ => $"        {function.Name}: queueTrigger '{function.QueueName}' ({function.Connection ?? QueueConnections.DefaultConnection}){disabled}",
            });
        }

        writer.WriteLine();
        writer.WriteLine("Keys (x-functions-key header or ?code=):");
        writer.WriteLine(_keys.FunctionKeyGenerated
            ? $"        function key: {FunctionKey}  (generated for this run; set {FunctionKeys.FunctionKeySetting} to fix it)"
            : $"        function key: from setting {FunctionKeys.FunctionKeySetting}");
        writer.WriteLine(_keys.MasterKeyGenerated
            ? $"        master key:   {MasterKey}  (generated for this run; set {FunctionKeys.MasterKeySetting} to fix it)"
            : $"        master key:   from setting {FunctionKeys.MasterKeySetting}");
        writer.WriteLine();
        writer.WriteLine($"Run a timer or queue function now: POST {new Uri(BaseUri, "admin/functions/{name}")} with the master key, body {{\"input\": \"...\"}}");
        writer.WriteLine();
    }

    /// <summary>Stops listening, stops the triggers, waits for running invocations, and disposes the services.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        using (var timeout = new CancellationTokenSource(ShutdownTimeout))
        {
            try
            {
                await _app.StopAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Invocations still running after the timeout are abandoned.
            }
        }

        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
