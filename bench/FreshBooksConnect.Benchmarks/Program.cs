using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace FreshBooksConnect.Benchmarks;

/// <summary>
/// Load benchmark: Azurite + the FreshBooks emulator + the function app in the local host, on loopback, in this process
/// (cold start runs the local host as its own process). Writes a markdown body to the path given as first argument.
/// Flags: --large (adds 10,000 x 100% due and 100,000 x 1% sweeps), --quick (1 run each, smaller), --micro (only section 5),
/// --events (only section 3b), --cache-and-proxy (only sections 2c and 6, over a 10,000-connection population seeded for them).
/// Before/after mode (Program.Compare.cs): --compare-run &lt;out.json&gt; [--label &lt;text&gt;] [--quick] runs the renewal core set and
/// writes its figures; --compare-report &lt;out.md&gt; [--command &lt;text&gt;] &lt;label&gt;=&lt;file.json&gt;... tabulates several of those.
/// </summary>
public static partial class Program
{
    private const string ClientId = "bench-client";
    private const string ClientSecret = "bench-secret";

    public static async Task<int> Main(string[] args)
    {
        var report = Array.IndexOf(args, "--compare-report");
        if (report >= 0)
        {
            return await CompareReportAsync(args[(report + 1)..]);
        }

        if (OptionValue(args, "--compare-run") is { } compareOutput)
        {
            return await CompareRunAsync(compareOutput, OptionValue(args, "--label") ?? "unlabelled", args.Contains("--quick"));
        }

        var output = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "benchmarks-body.md";
        var large = args.Contains("--large");
        var quick = args.Contains("--quick");
        if (args.Contains("--micro"))
        {
            var micro = new StringBuilder();
            MicroBenchmarks(micro, quick);
            await File.WriteAllTextAsync(output, micro.ToString());
            return 0;
        }

        var runs = quick ? 1 : 3;
        var total = Stopwatch.StartNew();
        var md = new StringBuilder();

        await using var stack = await Stack.StartAsync();
        Console.WriteLine($"stack up in {total.Elapsed.TotalSeconds:F1}s: app {stack.Host.BaseUri}, emulator {stack.Emulator.BaseUri}");

#if CONNECTION_EVENTS
        if (args.Contains("--events"))
        {
            await EventScenarios.RunAsync(stack, md, runs, quick);
            await File.WriteAllTextAsync(output, md.ToString());
            return 0;
        }
#endif
        if (args.Contains("--cache-and-proxy"))
        {
            var seeded = await SweepScenarios.SeedPopulationAsync(stack, quick ? 5_000 : 10_000);
            await TokenCacheScenarios.RunAsync(stack, md, runs, quick, seeded);
            await ProxyScenario.RunAsync(stack, md, runs, quick);
            md.AppendLine(CultureInfo.InvariantCulture, $"_Benchmark wall time: {total.Elapsed.TotalMinutes:F1} min._");
            await File.WriteAllTextAsync(output, md.ToString());
            return 0;
        }

        // The sweep's 10,000-connection population is seeded once and then serves the token API as well (seeding it into
        // Azurite takes about a minute), so the token section runs between the sweep and the drain tables, which reset.
        var scaleInputs = new ScaleInputs();
        var renewal = new StringBuilder();
        var token = new StringBuilder();
        var population = await SweepScenarios.RunAsync(stack, renewal, runs, large, quick, scaleInputs);
        await TokenScenarios.RunAsync(stack, token, runs, quick, population, scaleInputs);
        await TokenCacheScenarios.RunAsync(stack, token, runs, quick, population);
        await DrainScenarios.RunAsync(stack, renewal, runs, quick, scaleInputs);
        md.Append(renewal).Append(token);
        await OnboardingScenario.RunAsync(stack, md, runs, quick);
#if CONNECTION_EVENTS
        await EventScenarios.RunAsync(stack, md, runs, quick);
#endif
        var proxy = new StringBuilder();
        await ProxyScenario.RunAsync(stack, proxy, runs, quick);
        await ColdStartScenario.RunAsync(stack, md, runs);
        MicroBenchmarks(md, quick);
        md.Append(proxy);
        Report.WriteAnalysis(md, scaleInputs);

        md.AppendLine(CultureInfo.InvariantCulture, $"_Benchmark wall time: {total.Elapsed.TotalMinutes:F1} min; bench process peak working set {Report.Mb(Process.GetCurrentProcess().PeakWorkingSet64)}._");
        await File.WriteAllTextAsync(output, md.ToString());
        Console.WriteLine($"done in {total.Elapsed.TotalMinutes:F1} min -> {output}");
        return 0;
    }

    // Section 5, in Program.Micro.cs: a partial method, so ./bench.sh --compare can build without it (BenchmarkDotNet files are left out).
    static partial void MicroBenchmarks(StringBuilder md, bool quick);
}
