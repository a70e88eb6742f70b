using System.Diagnostics;
using System.Reflection;
using FreshBooksConnect.Testing;

namespace FreshBooksConnect.Soak;

/// <summary>
/// One instance of the function app: the local host (<c>src/FreshBooksConnect.LocalHost</c>, from its own build output) as a
/// process of its own, leading its own process group, so the soak can SIGKILL it, SIGTERM it and start it again on the same port.
/// Its stdout and stderr go to a log file and through the <see cref="LogWatch"/>.
/// </summary>
internal sealed partial class AppInstance(int index, int port, IReadOnlyDictionary<string, string> settings, string logDirectory, LogWatch watch) : IAsyncDisposable
{
    private const int SigKill = 9;
    private const int SigTerm = 15;

    /// <summary>The local host waits 30 seconds for running work (pending saves among it) when it stops; a little more is allowed.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(40);

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly Lock _gate = new();
    private readonly List<(DateTimeOffset At, string What)> _history = [];
    private Process? _process;
    private StreamWriter? _log;
    private int _starts;

    public int Index { get; } = index;

    public Uri BaseUri { get; } = new($"http://127.0.0.1:{port}/");

    public string LogPath { get; } = Path.Combine(logDirectory, $"app{index}.log");

    /// <summary>Up: started and answering; the soak sends it traffic and may kill or stop it.</summary>
    public bool IsUp { get; private set; }

    /// <summary>
    /// True when the process that was this instance at <paramref name="at"/> was SIGKILLed, to account for pairs that died with
    /// it: killed later, or killed just before and still dying (an answer the relay wrote then went into a dead process's
    /// socket, which takes the write until the kernel has closed it).
    /// </summary>
    public bool KilledAround(DateTimeOffset at)
    {
        lock (_gate)
        {
            var started = _history.Where(h => h.What == "start" && h.At <= at).Select(h => h.At).DefaultIfEmpty(DateTimeOffset.MinValue).Max();
            var next = _history.Where(h => h.What == "start" && h.At > at).Select(h => h.At).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
            return _history.Any(h => h.What == "SIGKILL" && h.At > started && h.At < next);
        }
    }

    /// <summary>The local host as built beside this project (same configuration and target framework).</summary>
    public static string LocalHostPath()
    {
        var configuration = typeof(AppInstance).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var framework = new DirectoryInfo(AppContext.BaseDirectory).Name;
        var path = Path.Combine(RepositoryRoot.Find(), "src", "FreshBooksConnect.LocalHost", "bin", configuration, framework, "FreshBooksConnect.LocalHost.dll");
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: build the solution (soak.sh does).");
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(LocalHostPath())!,
        };
        foreach (var argument in new[] { "dotnet", LocalHostPath(), "--urls", BaseUri.AbsoluteUri.TrimEnd('/') })
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in settings)
        {
            info.Environment[key] = value;
        }

        lock (_gate)
        {
            // One log per run: the first start empties what an earlier run left.
            _log ??= new StreamWriter(LogPath, append: false) { AutoFlush = true };
            _log.WriteLine($"=== soak: start {++_starts} at {DateTimeOffset.UtcNow:O}");
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Record("start");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTimeOffset.UtcNow + StartTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                var code = process.ExitCode;
                await process.WaitForExitAsync(CancellationToken.None);
                _process = null;
                process.Dispose();
                Record($"exited at start-up ({code})");
                throw new InvalidOperationException($"app instance {Index} exited at start-up with code {code}; its log: {LogPath}");
            }

            try
            {
                using var health = await http.GetAsync(new Uri(BaseUri, "api/health"), cancellationToken);
                if (health.IsSuccessStatusCode)
                {
                    IsUp = true;
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not listening yet.
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                await KillAsync();
                throw new InvalidOperationException($"app instance {Index} did not answer /api/health within {StartTimeout.TotalSeconds} s; its log: {LogPath}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>SIGKILL to its process group: everything in memory (a pair not saved yet, above all) dies with it.</summary>
    public async Task KillAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        IsUp = false;
        Record("SIGKILL");
        _ = KillGroup(process.Id, SigKill);
        await process.WaitForExitAsync();
        _process = null;
        process.Dispose();
    }

    /// <summary>SIGTERM, as a platform stops an instance: it finishes (or gives up) what is running and exits; false when it had to be killed.</summary>
    public async Task<bool> StopAsync()
    {
        if (_process is not { } process)
        {
            return true;
        }

        IsUp = false;
        Record("SIGTERM");
        _ = KillGroup(process.Id, SigTerm);
        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            Record($"exited ({process.ExitCode})");
            return true;
        }
        catch (OperationCanceledException)
        {
            Record("SIGKILL");
            _ = KillGroup(process.Id, SigKill);
            await process.WaitForExitAsync();
            return false;
        }
        finally
        {
            _process = null;
            process.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            _ = KillGroup(process.Id, SigKill);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            process.Dispose();
            _process = null;
        }

        lock (_gate)
        {
            _log?.Dispose();
            _log = null;
        }
    }

    /// <summary>Kills the instance's process group right away, from a signal handler or an exit path: no waiting, no logging.</summary>
    public void KillNow()
    {
        if (_process is { } process)
        {
            _ = KillGroup(process.Id, SigKill);
        }
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _log?.WriteLine(line);
        }

        watch.Scan(Index, line);
    }

    private void Record(string what)
    {
        lock (_gate)
        {
            _history.Add((DateTimeOffset.UtcNow, what));
            _log?.WriteLine($"=== soak: {what} at {DateTimeOffset.UtcNow:O}");
        }
    }

    /// <summary>The signal to the whole group the instance leads (setsid made it a leader), so nothing it started stays behind.</summary>
    private static int KillGroup(int processGroup, int signal) => Kill(-processGroup, signal);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
