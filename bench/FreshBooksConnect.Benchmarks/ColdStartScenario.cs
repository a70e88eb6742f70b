using System.Diagnostics;
using System.Net;
using System.Text;
using FreshBooksConnect.Testing;
using static FreshBooksConnect.Benchmarks.Report;

namespace FreshBooksConnect.Benchmarks;

/// <summary>Section 4 of the report: cold start of the local host as its own process, to the first 200 on /api/health.</summary>
internal static class ColdStartScenario
{
    internal static async Task RunAsync(Stack stack, StringBuilder md, int runs)
    {
        md.AppendLine("## 4. Cold start of the local host").AppendLine();
        var dll = Path.Combine(RepositoryRoot.Find(), "src", "FreshBooksConnect.LocalHost", "bin", "Release", "net10.0", "FreshBooksConnect.LocalHost.dll");
        md.AppendLine("`dotnet src/FreshBooksConnect.LocalHost/bin/Release/net10.0/FreshBooksConnect.LocalHost.dll --urls …` with its settings in environment variables (Azurite and the emulator already running; tables already exist); ");
        md.AppendLine("timed from `Process.Start` to the first 200 on `GET /api/health` (polled every 10 ms); working set read from the process then.").AppendLine();
        if (!File.Exists(dll))
        {
            md.AppendLine(Inv, $"Skipped: {dll} not found (bench.sh builds it).").AppendLine();
            return;
        }

        var times = new List<double>(); var ws = new List<double>();
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var run = 0; run < runs; run++)
        {
            var port = Stack.FreePort();
            var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
            info.ArgumentList.Add(dll);
            info.ArgumentList.Add("--urls");
            info.ArgumentList.Add($"http://127.0.0.1:{port}");
            foreach (var (key, value) in stack.Settings(port))
            {
                info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
            }

            info.Environment["RenewalSchedule"] = "0 0 0 1 1 *";
            var sw = Stopwatch.StartNew();
            using var process = Process.Start(info)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            double? ready = null;
            while (sw.Elapsed < TimeSpan.FromSeconds(60) && !process.HasExited)
            {
                try
                {
                    using var r = await probe.GetAsync($"http://127.0.0.1:{port}/api/health");
                    if (r.StatusCode == HttpStatusCode.OK)
                    {
                        ready = sw.Elapsed.TotalMilliseconds;
                        break;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                }

                await Task.Delay(10);
            }

            if (ready is { } ms)
            {
                process.Refresh();
                times.Add(ms);
                ws.Add(process.WorkingSet64);
                Console.WriteLine($"  cold start run {run + 1}: {ms:F0} ms, {Mb(process.WorkingSet64)}");
            }
            else
            {
                Console.WriteLine($"  cold start run {run + 1}: no 200 within 60 s (exited: {process.HasExited})");
            }

            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        md.AppendLine("| start → first 200 on /api/health | working set then | runs ok |");
        md.AppendLine("|---:|---:|---:|");
        md.AppendLine(Inv, $"| {(times.Count > 0 ? Ms(times.Select(t => t / 1000).ToList()) : "n/a")} | {(ws.Count > 0 ? $"{Mb((long)Stats.Median(ws))} ({Mb((long)ws.Min())}–{Mb((long)ws.Max())})" : "n/a")} | {times.Count}/{runs} |").AppendLine();
    }
}
