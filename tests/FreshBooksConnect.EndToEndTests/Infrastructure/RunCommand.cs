using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace FreshBooksConnect.EndToEndTests.Infrastructure;

/// <summary>
/// One <c>./run.sh</c>, started as a developer would start it (its own terminal session: it leads its own process
/// group), on the given ports, with its output captured. Disposing stops it and kills anything it left behind, whatever
/// happened in the test.
/// </summary>
public sealed partial class RunCommand : IAsyncDisposable
{
    /// <summary>The function key the runs are given (run.sh passes it to the app and prints it).</summary>
    public const string FunctionKey = "e2e-function-key";

    /// <summary>The SaaS product the link's page names.</summary>
    public const string ProductName = "Ledger & Co";

    public const string ClientId = "e2e-client";

    public const string ClientSecret = "e2e-secret";

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(40);

    private static readonly TimeSpan OutputDrainTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<string> _link = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _outputEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _openStreams = 2;
    private readonly string? _settingsFileToRemove;
    private string? _printedLink;
    private int _disposed;

    private RunCommand(Process process, RunPorts ports, string runId, string logDirectory, string? settingsFileToRemove)
    {
        _process = process;
        Ports = ports;
        RunId = runId;
        LogDirectory = logDirectory;
        _settingsFileToRemove = settingsFileToRemove;
    }

    public RunPorts Ports { get; }

    /// <summary>The <c>FBC_RUN_ID</c> every process of this run inherits.</summary>
    public string RunId { get; }

    /// <summary>Where run.sh writes the services' logs (<c>RUN_LOG_DIR</c>).</summary>
    public string LogDirectory { get; }

    public int ProcessId => _process.Id;

    public string AppUrl => $"http://localhost:{Ports.App}";

    public string EmulatorUrl => $"http://127.0.0.1:{Ports.Emulator}";

    /// <summary>Everything run.sh printed so far (stdout and stderr, interleaved as received).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <c>./run.sh</c> from the repository root. The settings that decide where FreshBooks and the redirect go
    /// are passed as environment variables, so a developer's own local.settings.json (say, pointed at a tunnel) can't
    /// change what is tested; everything else comes from local.settings.json, as for anyone running the command.
    /// <paramref name="extra"/> adds variables, or overrides these (e.g. <c>EVENTS_RECEIVER=yes</c>). <paramref name="checkout"/>:
    /// another directory holding run.sh (this repository's by default). In this repository, a local.settings.json that run.sh
    /// creates (none was there when it started) is removed when the run is disposed; a developer's own is never touched.
    /// </summary>
    public static RunCommand Start(string name, RunPorts ports, IReadOnlyDictionary<string, string>? extra = null, string? checkout = null)
    {
        var repositorySettings = Path.Combine(Repository.Root, "local.settings.json");
        var settingsFileToRemove = checkout is null && !File.Exists(repositorySettings) ? repositorySettings : null;
        checkout ??= Repository.Root;
        var logDirectory = Path.Combine(AppContext.BaseDirectory, "runs", name);
        if (Directory.Exists(logDirectory))
        {
            Directory.Delete(logDirectory, recursive: true);
        }

        var runId = $"e2e-{name}-{Guid.NewGuid():N}";
        // setsid: run.sh leads a process group, as in a terminal, so Interrupt() can be a terminal's Ctrl-C and the
        // clean-up can kill the group without touching the test host's own.
        var start = new ProcessStartInfo("setsid")
        {
            WorkingDirectory = checkout,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("./run.sh");
        var environment = new Dictionary<string, string>
        {
            ["APP_PORT"] = Invariant(ports.App),
            ["EMULATOR_PORT"] = Invariant(ports.Emulator),
            ["AZURITE_BLOB_PORT"] = Invariant(ports.AzuriteBlob),
            ["AZURITE_QUEUE_PORT"] = Invariant(ports.AzuriteQueue),
            ["AZURITE_TABLE_PORT"] = Invariant(ports.AzuriteTable),
            ["RUN_LOG_DIR"] = logDirectory,
            ["FBC_RUN_ID"] = runId,
            // Loopback: the emulator plays FreshBooks. run.sh must move the port to EMULATOR_PORT.
            ["FreshBooks__AuthUrl"] = "http://127.0.0.1:5100/oauth/authorize/",
            ["FreshBooks__ApiUrl"] = "http://127.0.0.1:5100",
            // A localhost redirect URI on the default port: run.sh must move it to APP_PORT.
            ["FreshBooks__RedirectUri"] = "http://localhost:7071/api/callback",
            // Not the sample's values: the emulator must be given the same ones as the app.
            ["FreshBooks__ClientId"] = ClientId,
            ["FreshBooks__ClientSecret"] = ClientSecret,
            ["LocalHost__FunctionKey"] = FunctionKey,
            // The link opens the page that names the product and the tenant, whatever local.settings.json says.
            ["Onboarding__ProductName"] = ProductName,
            ["Onboarding__ConfirmPage"] = "true",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("setsid ./run.sh did not start.");
        process.StandardInput.Close();
        var run = new RunCommand(process, ports, runId, logDirectory, settingsFileToRemove);
        process.OutputDataReceived += (_, e) => run.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => run.Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return run;
    }

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Waits until run.sh printed its onboarding link and the rest of what it tells the developer (it has built and
    /// started everything by then); returns the link.
    /// </summary>
    public async Task<string> WaitForLinkAsync(TimeSpan timeout)
    {
        // The exit wait ends at the deadline too: whichever comes first, the link, the exit or the deadline.
        if (await Task.WhenAny(_link.Task, WaitForExitCoreAsync(timeout)) == _link.Task)
        {
            return await _link.Task;
        }

        throw new InvalidOperationException(_process.HasExited
            ? $"run.sh exited with code {_process.ExitCode} before printing an onboarding link.{Describe()}"
            : $"run.sh printed no onboarding link within {timeout.TotalSeconds:0}s.{Describe()}");
    }

    /// <summary>Ctrl-C in run.sh's terminal: SIGINT to its whole process group.</summary>
    public void Interrupt() => Signals.SendToGroup(_process.Id, Signals.SIGINT);

    /// <summary>What a process manager does: SIGTERM to run.sh alone.</summary>
    public void Terminate() => Signals.Send(_process.Id, Signals.SIGTERM);

    /// <summary>Waits for run.sh to exit; its exit code, or null if it is still running after <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        await WaitForExitCoreAsync(timeout);
        if (!_process.HasExited)
        {
            return null;
        }

        // Its last lines (e.g. "== stopped") may still be on their way through the pipe when the exit is seen; a
        // leftover holding the pipe open must not hang the wait, so it is bounded.
        await Task.WhenAny(_outputEnded.Task, Task.Delay(OutputDrainTimeout));
        return _process.ExitCode;
    }

    /// <summary>The processes of this run still alive (any process carrying its run id or naming one of its ports).</summary>
    public IReadOnlyList<ProcessInfo> Leftovers() => ProcessInfo.Find(RunId, Ports.All);

    /// <summary>The last lines of a service's log (<c>app</c>, <c>emulator</c>, <c>azurite</c>, <c>receiver</c>), for failure messages.</summary>
    public string LogTail(string service, int lines = 40)
    {
        var path = Path.Combine(LogDirectory, service + ".log");
        return File.Exists(path) ? string.Join(Environment.NewLine, File.ReadLines(path).TakeLast(lines)) : $"({path} does not exist)";
    }

    public string Describe() =>
        $"{Environment.NewLine}--- run.sh output ---{Environment.NewLine}{Output}" +
        $"{Environment.NewLine}--- app.log (last lines) ---{Environment.NewLine}{LogTail("app")}";

    /// <summary>Stops run.sh if it still runs (SIGTERM, then SIGKILL to its group) and kills whatever it left behind.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_process.HasExited)
        {
            Terminate();
            if (await WaitForExitAsync(StopTimeout) is null)
            {
                Signals.SendToGroup(_process.Id, Signals.SIGKILL);
                await WaitForExitAsync(TimeSpan.FromSeconds(5));
            }
        }

        foreach (var leftover in Leftovers())
        {
            leftover.KillGroup();
        }

        if (_settingsFileToRemove is not null)
        {
            File.Delete(_settingsFileToRemove);
        }

        _process.Dispose();
    }

    private async Task WaitForExitCoreAsync(TimeSpan timeout)
    {
        // HasExited, not WaitForExitAsync: the latter also waits for the end of the output, which a leftover holding
        // run.sh's stdout would keep open; that leftover is for Leftovers() to report, not for this wait to hang on.
        var deadline = Stopwatch.StartNew();
        while (!_process.HasExited && deadline.Elapsed < timeout)
        {
            await Task.Delay(100);
        }
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            if (Interlocked.Decrement(ref _openStreams) == 0)
            {
                _outputEnded.TrySetResult();
            }

            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (LinkLine().Match(line) is { Success: true } match)
        {
            _printedLink = match.Groups["link"].Value;
        }
        else if (_printedLink is not null && line.Contains("Ctrl-C stops everything", StringComparison.Ordinal))
        {
            _link.TrySetResult(_printedLink);
        }
    }

    private static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^\s*(?<link>http://localhost:\d+/api/connect\?link=\S+)\s*$")]
    private static partial Regex LinkLine();
}
