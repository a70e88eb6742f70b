using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace FreshBooksConnect.Testing;

/// <summary>
/// A real Azurite (blob, queue, table), started from the repository's <c>node_modules</c> on free ports, in memory (or on
/// disk, for tests that stop and restart it as a storage outage), and killed with its whole process tree on dispose. Each service runs as its own process: in one process, the queue
/// service's once-a-minute clean-up of deleted messages blocks node's event loop, and with it every table request, for
/// seconds (tens of seconds after a few thousand messages). Share one per test collection:
/// <code>[CollectionDefinition("Azurite")] public sealed class AzuriteCollection : ICollectionFixture&lt;AzuriteFixture&gt;;</code>
/// Needs <c>npm install</c> at the repository root once (Azurite is a devDependency of its package.json).
/// </summary>
public sealed partial class AzuriteFixture : IAsyncLifetime, IAsyncDisposable
{
    public const string AccountName = "devstoreaccount1";

    /// <summary>Azurite's well-known development account key (public, documented; not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private const int SigInt = 2;
    private readonly StringBuilder _output = new();
    private readonly List<Process> _processes = [];
    private readonly Dictionary<string, TaskCompletionSource> _closed = [];
    private readonly bool _onDisk;
    private string? _workingDirectory;
    private int _disposed;

    public AzuriteFixture()
    {
    }

    private AzuriteFixture(bool onDisk) => _onDisk = onDisk;

    /// <summary>
    /// An Azurite that keeps its data in files in its working directory instead of in memory, so <see cref="StopAsync"/> and
    /// <see cref="RestartAsync"/> are an outage that loses nothing (Azurite writes its files when it is stopped with SIGINT).
    /// </summary>
    public static AzuriteFixture OnDisk() => new(onDisk: true);

    public int BlobPort { get; private set; }

    public int QueuePort { get; private set; }

    public int TablePort { get; private set; }

    /// <summary>The connection string of the running Azurite (valid after <see cref="StartAsync"/>).</summary>
    public string ConnectionString =>
        TablePort == 0
            ? throw new InvalidOperationException("Azurite is not started.")
            : $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
              $"BlobEndpoint=http://127.0.0.1:{BlobPort}/{AccountName};" +
              $"QueueEndpoint=http://127.0.0.1:{QueuePort}/{AccountName};" +
              $"TableEndpoint=http://127.0.0.1:{TablePort}/{AccountName};";

    public Uri BlobServiceUri => new($"http://127.0.0.1:{BlobPort}/{AccountName}");

    public Uri QueueServiceUri => new($"http://127.0.0.1:{QueuePort}/{AccountName}");

    public Uri TableServiceUri => new($"http://127.0.0.1:{TablePort}/{AccountName}");

    /// <summary>Starts Azurite and waits until its three services accept connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_processes.Count > 0)
        {
            return;
        }

        var ports = FreePorts(3);
        (BlobPort, QueuePort, TablePort) = (ports[0], ports[1], ports[2]);

        // A temporary working directory catches anything Azurite writes (its files, when on disk) and is deleted on dispose.
        // In memory, Azurite 3.37 refuses --location together with --inMemoryPersistence, hence the working directory.
        _workingDirectory = Directory.CreateTempSubdirectory("azurite-").FullName;
        await StartServicesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops all three services as an outage does: requests are refused until <see cref="RestartAsync"/>. Only on disk: in
    /// memory the data would be gone.
    /// </summary>
    public async Task StopAsync()
    {
        if (!_onDisk)
        {
            throw new InvalidOperationException("Only an on-disk Azurite can be stopped and restarted without losing its data.");
        }

        // SIGINT: Azurite closes its servers and writes its files (a kill would lose the last writes). It says so when done, but
        // its process lingers after that, so it is killed then.
        List<Task> closing;
        lock (_output)
        {
            closing = [.. _closed.Values.Select(c => c.Task)];
        }

        foreach (var process in _processes.Where(p => !p.HasExited))
        {
            _ = Kill(process.Id, SigInt);
        }

        try
        {
            // A loaded machine (CI's 2 cores under every test project at once) can take long to write the files.
            await Task.WhenAll(closing).WaitAsync(TimeSpan.FromSeconds(90)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Stopped all the same below: left half-stopped, every later restart would find it "running" and refuse.
        }

        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            try
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Killed; the kernel reaps it. Its ports are what matter, and a killed process holds none.
            }

            process.Dispose();
        }

        _processes.Clear();
    }

    /// <summary>
    /// Starts the stopped services again on the same ports, with the data they had. When they do not come up (a loaded machine,
    /// or another process took a port meanwhile) it throws with Azurite's output and leaves them stopped, data kept, so it can
    /// be called again.
    /// </summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        if (_processes.Count > 0)
        {
            return;
        }

        try
        {
            await StartServicesAsync(cancellationToken, restarting: true).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            foreach (var process in _processes)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
                process.Dispose();
            }

            _processes.Clear();
            throw;
        }
    }

    private async Task StartServicesAsync(CancellationToken cancellationToken, bool restarting = false)
    {
        var root = RepositoryRoot.Find();
        var bin = Path.Combine(root, "node_modules", ".bin");
        if (!File.Exists(Path.Combine(bin, "azurite")))
        {
            throw new InvalidOperationException($"Azurite is not installed ({bin}/azurite is missing): run `npm install` in {root}.");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        try
        {
            foreach (var (service, port) in new[] { ("blob", BlobPort), ("queue", QueuePort), ("table", TablePort) })
            {
                var process = StartService(bin, service, port);
                await WaitForPortAsync(process, port, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException)
        {
            var output = Output();
            if (!restarting)
            {
                await DisposeAsync().ConfigureAwait(false);
            }

            throw new InvalidOperationException($"Azurite did not come up on ports {BlobPort}, {QueuePort}, {TablePort}. Its output:{Environment.NewLine}{output}", ex);
        }
    }

    private Process StartService(string bin, string service, int port)
    {
        var executable = Path.Combine(bin, OperatingSystem.IsWindows() ? $"azurite-{service}.cmd" : $"azurite-{service}");
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = _workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] persistence = _onDisk ? ["--location", _workingDirectory!] : ["--inMemoryPersistence"];
        foreach (var argument in persistence.Concat(
                 [
                     "--silent", "--skipApiVersionCheck", "--loose",
                     $"--{service}Host", "127.0.0.1", $"--{service}Port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                 ]))
        {
            start.ArgumentList.Add(argument);
        }

        lock (_output)
        {
            _closed[service] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"azurite-{service} did not start.");
        _processes.Add(process);
        process.OutputDataReceived += (_, e) => Capture(service, e.Data);
        process.ErrorDataReceived += (_, e) => Capture(service, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Kills Azurite (and any child processes) and deletes its working directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var process in _processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
            {
                // Already gone, or not going: nothing more to do from here.
            }

            process.Dispose();
        }

        if (_workingDirectory is not null)
        {
            try
            {
                Directory.Delete(_workingDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
        }
    }

    Task IAsyncLifetime.InitializeAsync() => StartAsync();

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();

    private void Capture(string service, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Append(service).Append(": ").AppendLine(line);
            if (line.Contains("successfully closed", StringComparison.Ordinal) && _closed.TryGetValue(service, out var closed))
            {
                closed.TrySetResult();
            }
        }
    }

    private string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }

    private static async Task WaitForPortAsync(Process process, int port, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {process.ExitCode}.");
            }

            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    /// <summary>Ports free right now (held open together so they differ, then released for Azurite).</summary>
    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }
}
