using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.LocalHost;

/// <summary>How to start a <see cref="LocalFunctionsHost"/>.</summary>
public sealed class LocalHostOptions
{
    /// <summary>
    /// The address(es) to listen on, separated by ';'. Port 0 picks a free port (use an IP address then, not
    /// <c>localhost</c>); <see cref="LocalFunctionsHost.BaseUri"/> tells the bound address. A <c>urls</c> setting
    /// (e.g. <c>--urls</c> on the command line) wins over this.
    /// </summary>
    public string Urls { get; set; } = "http://127.0.0.1:0";

    /// <summary>
    /// Where the function app's assembly, <c>functions.metadata</c> and <c>host.json</c> are. Default: next to the
    /// local host (its build copies them there from the referenced function app).
    /// </summary>
    public string FunctionAppDirectory { get; set; } = AppContext.BaseDirectory;

    /// <summary>Command-line arguments, read as configuration (<c>--Key value</c>, <c>--urls ...</c>).</summary>
    public IReadOnlyList<string> Args { get; set; } = [];

    /// <summary>
    /// Extra configuration, highest precedence. Configuration is, lowest to highest: <c>local.settings.json</c>
    /// <c>Values</c> and <c>ConnectionStrings</c> (as <c>func start</c> reads them), environment variables, command
    /// line, these settings. Names are configuration keys; <c>A__B</c> in local.settings.json means <c>A:B</c>.
    /// </summary>
    public IDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether to read <c>local.settings.json</c>: the first one found in the repository root above the function app
    /// directory (the first parent holding a <c>*.sln</c> or <c>.git</c>), the function app directory, or the current
    /// directory. Tests usually turn this off to be independent of a developer's settings.
    /// </summary>
    public bool LoadLocalSettingsFile { get; set; } = true;

    /// <summary>
    /// The app's service registration (the local host's Program passes <c>AddFreshBooksConnect</c>), then any test
    /// overrides. Runs after the local host registered its own services (MVC core, logging, routing).
    /// </summary>
    public Action<IServiceCollection, IConfiguration>? ConfigureServices { get; set; }

    /// <summary>
    /// The setting holding the app's public address, if it has one (this repository's app: <c>FreshBooks:RedirectUri</c>, where
    /// FreshBooks sends browsers back, e.g. through a tunnel to this machine). The host answers only requests whose Host header is
    /// <c>localhost</c>, <c>127.0.0.1</c> or <c>[::1]</c> (any port) or that address's host; any other gets 400 and runs nothing,
    /// so a web page can't reach the host by rebinding its own DNS name to 127.0.0.1. While the address is not loopback, the host
    /// refuses to start with a function or master key of <c>local.settings.sample.json</c>. Null: loopback only.
    /// </summary>
    public string? PublicUrlSetting { get; set; } = "FreshBooks:RedirectUri";

    /// <summary>Run timer triggers on their schedules (and <c>runOnStartup</c>). Off: only on demand.</summary>
    public bool RunTimers { get; set; } = true;

    /// <summary>Poll the queues of queue triggers. Off: queue functions run only on demand.</summary>
    public bool RunQueues { get; set; } = true;

    /// <summary>
    /// The clock timer schedules run on. This is the local host's clock, not the app's <see cref="TimeProvider"/>
    /// service: a test can pass a FakeTimeProvider here and advance it to fire timers without waiting.
    /// </summary>
    public TimeProvider TimerTimeProvider { get; set; } = TimeProvider.System;
}
