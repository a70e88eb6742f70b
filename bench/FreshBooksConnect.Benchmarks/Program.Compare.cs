using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using static FreshBooksConnect.Benchmarks.Report;

namespace FreshBooksConnect.Benchmarks;

/// <summary>
/// Before/after mode. <c>--compare-run</c> runs the renewal core set (a–d below) against the product code this bench was
/// built with and writes its figures as JSON; <c>--compare-report</c> puts several such files side by side.
/// <c>./bench.sh --compare &lt;ref&gt;...</c> builds this same bench code against each ref's <c>src/</c> and calls both.
/// </summary>
public static partial class Program
{
    private const int CompareConnections = 1_000;
    private const int CompareDrainOnly = 500;
    private const int CompareConcurrency = 16;
    private static readonly TimeSpan CompareTokenDuration = TimeSpan.FromSeconds(5);
    private static readonly JsonSerializerOptions CompareJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private static string? OptionValue(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    // ---------------------------------------------------------------- --compare-run

    private static async Task<int> CompareRunAsync(string output, string label, bool quick)
    {
        var runs = quick ? 3 : 5;
        var total = Stopwatch.StartNew();
        var m = new CompareRecorder();
        await using var stack = await Stack.StartAsync();
        Console.WriteLine($"[{label}] stack up in {total.Elapsed.TotalSeconds:F1}s, {runs} runs per scenario");

        // Untimed: JIT and connection pools of the renewal path, so run 1 is not the outlier of every min–max.
        await SweepScenarios.SweepAndDrainAsync(stack, 100, 100, "bench", reset: true, "warm-up");

        // a. sweep of 1,000 x 100% due, then the drain at P = 32 (emulator 0 ms)
        for (var run = 0; run < runs; run++)
        {
            var (_, s, d) = await SweepScenarios.SweepAndDrainAsync(stack, CompareConnections, CompareConnections, "bench", reset: true, $"a run {run + 1}");
            m.Add("a.sweep.wall", "a. sweep: wall", "ms", "N0", s.Seconds * 1000);
            m.Add("a.sweep.requests", "a. sweep: table requests", "", "N0", s.Counts.Requests);
            m.Add("a.drain.wall", "a. drain P = 32: wall", "s", "N2", d.Seconds);
            m.Add("a.drain.rate", "a. drain P = 32: renewals/s", "", "N0", d.Rate);
            m.Add("a.drain.requests", "a. drain: table requests / renewal", "", "N2", d.RequestsPerRenewal);
            m.Add("a.drain.alloc", "a. drain: allocated / renewal", "KB", "N1", d.AllocatedPerRenewal / 1024);
            m.Add("a.drain.cpu", "a. drain: CPU / renewal", "ms", "N2", d.CpuMsPerRenewal);
            m.Details["sweep"] = s.Counts.Describe();
            m.Details["drain"] = d.DescribePerRenewal();
            m.Check(s.Result.Enqueued == CompareConnections, $"a run {run + 1}: sweep enqueued {s.Result.Enqueued} of {CompareConnections}");
            m.Check(d.Renewed == CompareConnections && d.StillDue == 0, $"a run {run + 1}: {d.Renewed} renewed of {CompareConnections}, {d.StillDue} still due");
        }

        // b. drain only (seed + sweep untimed) of 500 due at emulator 0 ms, P = 1
        for (var run = 0; run < runs; run++)
        {
            var d = await DrainScenarios.DrainOnlyAsync(stack, CompareDrainOnly, 0, 1, again: run > 0, $"b run {run + 1}");
            m.Add("b.rate", "b. drain P = 1: renewals/s", "", "N1", d.Rate);
            m.Add("b.p50", "b. drain P = 1: p50 / renewal", "ms", "N1", Stats.Percentile(d.Latencies, 0.50));
            m.Add("b.p99", "b. drain P = 1: p99 / renewal", "ms", "N1", Stats.Percentile(d.Latencies, 0.99));
            m.Add("b.slowest", "b. drain P = 1: slowest renewal", "ms", "N0", d.Latencies.DefaultIfEmpty().Max());
            m.Add("b.requests", "b. drain P = 1: table requests / renewal", "", "N2", d.RequestsPerRenewal);
            m.Check(d.Renewed == CompareDrainOnly, $"b run {run + 1}: {d.Renewed} messages of {CompareDrainOnly}");
        }

        // c. token API, all current (control); d. token API with 10% inline refresh at emulator 150 ms
        using var client = TokenScenarios.TokenClient(stack);
        var ids = await SweepScenarios.SeedPopulationAsync(stack, CompareConnections);
        await TokenScenarios.LoadAsync(client, ids, 8, TimeSpan.FromSeconds(1));
        foreach (var refresh in new[] { false, true })
        {
            for (var run = 0; run < runs; run++)
            {
                var t = await TokenScenarios.TokenRunAsync(stack, client, ids, refresh ? $"tokr{run}" : null, CompareConcurrency, CompareTokenDuration, $"{(refresh ? 'd' : 'c')} run {run + 1}");
                var key = refresh ? "d" : "c";
                var name = refresh ? "d. token API, 10% inline refresh" : "c. token API, all current";
                m.Add($"{key}.rps", $"{name}: requests/s", "", "N0", t.RequestsPerSecond);
                if (!refresh)
                {
                    m.Add($"{key}.p50", $"{name}: p50", "ms", "N1", Stats.Percentile(t.Load.Latencies, 0.50));
                }

                m.Add($"{key}.p99", $"{name}: p99", "ms", "N1", Stats.Percentile(t.Load.Latencies, 0.99));
                m.Add($"{key}.requests", $"{name}: table requests / call", "", "N2", t.RequestsPerCall);
                m.Check(t.Load.Errors == 0, $"{key} run {run + 1}: {t.Load.Errors} errors");
            }
        }

        var result = m.ToResult(label, runs, total.Elapsed.TotalMinutes);
        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(result, CompareJson));
        Console.WriteLine($"[{label}] done in {total.Elapsed.TotalMinutes:F1} min -> {output}");
        return 0;
    }

    // ---------------------------------------------------------------- --compare-report

    /// <summary>Arguments: &lt;out.md&gt; [--command &lt;text&gt;] &lt;label&gt;=&lt;file.json&gt;... (in column order; "change" is last vs first).</summary>
    private static async Task<int> CompareReportAsync(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: --compare-report <out.md> [--command <text>] <label>=<file.json> [<label>=<file.json>...]");
            return 2;
        }

        var output = args[0];
        string? command = null;
        var versions = new List<(string Label, CompareResult Result)>();
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i] == "--command" && i + 1 < args.Length)
            {
                command = args[++i];
                continue;
            }

            var eq = args[i].LastIndexOf('=');
            if (eq <= 0)
            {
                Console.Error.WriteLine($"not <label>=<file.json>: {args[i]}");
                return 2;
            }

            var result = JsonSerializer.Deserialize<CompareResult>(await File.ReadAllTextAsync(args[i][(eq + 1)..]), CompareJson)
                         ?? throw new InvalidOperationException($"empty: {args[i][(eq + 1)..]}");
            versions.Add((args[i][..eq], result));
        }

        await File.WriteAllTextAsync(output, CompareReport(versions, command));
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private static string CompareReport(List<(string Label, CompareResult Result)> versions, string? command)
    {
        var md = new StringBuilder();
        var runCounts = versions.Select(v => v.Result.Runs).Distinct().ToList();
        var runsText = runCounts.Count == 1
            ? $"{runCounts[0]} runs"
            : "the runs of each version (" + string.Join(", ", versions.Select(v => $"{v.Label}: {v.Result.Runs}")) + ")";
        md.AppendLine("## Before / after").AppendLine();
        if (command is null)
        {
            md.AppendLine("Produced by `FreshBooksConnect.Benchmarks --compare-run` once per version (each in its own process), then `--compare-report`. ");
        }
        else
        {
            md.AppendLine(Inv, $"Produced by `{command}`: every column is the same bench code (the current `bench/FreshBooksConnect.Benchmarks`, copied into a detached `git worktree` of the ref; ");
            md.AppendLine("the working tree's is built in place) built in Release against that version's `src/` and run in its own process, one version after the other on this same machine. ");
        }

        md.AppendLine(Inv, $"Each figure is the median (min–max) of {runsText}, after one untimed warm-up sweep and drain; ");
        md.AppendLine("\"change\" is the last column's median against the first's. Lower is better except renewals/s and requests/s.").AppendLine();
        md.AppendLine(Inv, $"- a. Empty tables, {CompareConnections:N0} connections all due (real emulator grants, emulator 0 ms): `RenewalSweep.SweepAsync`, then the drain of its {CompareConnections:N0} messages through `RenewConnection` with 32 concurrent workers.");
        md.AppendLine(Inv, $"- b. {CompareDrainOnly} due connections seeded and swept (not timed), drained by one worker (emulator 0 ms): per-renewal latency without contention.");
        md.AppendLine(Inv, $"- c. `GET /api/connections/{{id}}/token` over {CompareConnections:N0} current connections, C = {CompareConcurrency}, {CompareTokenDuration.TotalSeconds:F0} s (control: renewal changes should not move it).");
        md.AppendLine(Inv, $"- d. As c, with 10% of the connections fresh and inside the inline-refresh window, emulator 150 ms.").AppendLine();
        md.AppendLine("Allocated bytes and CPU per renewal are of the whole bench process during the drain (app, emulator and load client together; Azurite is a separate node process and not included).").AppendLine();

        md.Append("| metric |");
        foreach (var (label, _) in versions)
        {
            md.Append(Inv, $" {label} |");
        }

        md.AppendLine(" change |");
        md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", versions.Count)) + "---:|");
        var keys = versions.SelectMany(v => v.Result.Metrics.Select(x => x.Key)).Distinct().ToList();
        foreach (var key in keys)
        {
            var cells = versions.Select(v => v.Result.Metrics.FirstOrDefault(x => x.Key == key)).ToList();
            var any = cells.First(c => c is not null)!;
            md.Append(Inv, $"| {any.Name} |");
            foreach (var cell in cells)
            {
                md.Append(Inv, $" {(cell is null ? "n/a" : cell.Cell())} |");
            }

            md.AppendLine(Inv, $" {Change(cells[0], cells[^1])} |");
        }

        md.AppendLine();
        DetailList(md, versions, "sweep", "Table requests of one sweep (a), by method and table (plus one queue `PUT` message per due connection):");
        DetailList(md, versions, "drain", "Table requests per renewal in the drain (a, P = 32), by method and table:");
        var warnings = versions.SelectMany(v => v.Result.Warnings.Select(w => $"{v.Label}: {w}")).ToList();
        md.AppendLine(warnings.Count == 0
            ? "Checks: in every run of every version the sweep enqueued and the drain renewed every due connection, and no token call failed."
            : "**Checks failed** (figures of these runs are suspect): " + string.Join("; ", warnings) + ".");
        return md.ToString();
    }

    private static void DetailList(StringBuilder md, List<(string Label, CompareResult Result)> versions, string key, string title)
    {
        md.AppendLine(title).AppendLine();
        foreach (var (label, result) in versions)
        {
            md.AppendLine(Inv, $"- {label}: {result.Details.GetValueOrDefault(key, "n/a")}");
        }

        md.AppendLine();
    }

    private static string Change(CompareMetric? first, CompareMetric? last)
    {
        if (first is null || last is null || ReferenceEquals(first, last))
        {
            return "";
        }

        if (first.Median == 0)
        {
            return last.Median == 0 ? "0%" : "n/a";
        }

        return ((last.Median - first.Median) / first.Median * 100).ToString("+0.0;-0.0;0.0", Inv) + "%";
    }
}

/// <summary>The figures of one <c>--compare-run</c>, as written to its JSON file.</summary>
internal sealed record CompareResult(
    string Label, int Runs, string GeneratedUtc, int ProcessorCount, double WallMinutes,
    List<CompareMetric> Metrics, Dictionary<string, string> Details, List<string> Warnings);

internal sealed record CompareMetric(string Key, string Name, string Unit, string Format, double Median, double Min, double Max, List<double> Values)
{
    public string Cell() => $"{F(Median)}{(Unit.Length == 0 ? "" : " " + Unit)} ({F(Min)}–{F(Max)})";

    private string F(double value) => value.ToString(Format, CultureInfo.InvariantCulture);
}

/// <summary>Collects one value per run for each metric, in the order the metrics are first added.</summary>
internal sealed class CompareRecorder
{
    private readonly List<(string Key, string Name, string Unit, string Format, List<double> Values)> _metrics = [];

    public Dictionary<string, string> Details { get; } = [];

    public List<string> Warnings { get; } = [];

    public void Add(string key, string name, string unit, string format, double value)
    {
        var index = _metrics.FindIndex(x => x.Key == key);
        if (index < 0)
        {
            _metrics.Add((key, name, unit, format, []));
            index = _metrics.Count - 1;
        }

        _metrics[index].Values.Add(value);
    }

    public void Check(bool ok, string warning)
    {
        if (!ok)
        {
            Console.WriteLine($"  WARNING: {warning}");
            Warnings.Add(warning);
        }
    }

    public CompareResult ToResult(string label, int runs, double wallMinutes) => new(
        label,
        runs,
        DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture),
        Environment.ProcessorCount,
        Math.Round(wallMinutes, 2),
        [.. _metrics.Select(x => new CompareMetric(x.Key, x.Name, x.Unit, x.Format, Stats.Median(x.Values), x.Values.Min(), x.Values.Max(), x.Values))],
        Details,
        Warnings);
}
