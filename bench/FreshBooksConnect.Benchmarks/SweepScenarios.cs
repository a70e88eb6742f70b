using System.Diagnostics;
using System.Text;
using static FreshBooksConnect.Benchmarks.Report;

namespace FreshBooksConnect.Benchmarks;

/// <summary>Section 1 of the report, first half: table 1a, the renewal sweep by population and due share, each run followed by its drain.</summary>
internal static class SweepScenarios
{
    /// <summary>Sweep populations from this size are seeded with index entries only for their connections that are not due.</summary>
    private const int IndexOnlyFrom = 100_000;

    /// <summary>Table 1a. Returns the ids of the 10,000-connection population it leaves seeded, for the token API.</summary>
    internal static async Task<string[]> RunAsync(Stack stack, StringBuilder md, int runs, bool large, bool quick, ScaleInputs scale)
    {
        md.AppendLine("## 1. Renewal sweep and queue drain").AppendLine();
        md.AppendLine("Connections are seeded through the connection store (which writes each index entry with its row); ");
        md.AppendLine("the due ones carry real emulator grants (authorize URL → `ApproveAsync` → code exchange), the others dummy tokens and a `NextRenewalAt` 2–11 h ahead. ");
        md.AppendLine("The sweep is `RenewalSweep.SweepAsync` (what the timer function calls); the drain receives the enqueued messages and runs ");
        md.AppendLine("`host.InvokeAsync(\"RenewConnection\", msg)` with P concurrent workers (queue receive/delete is not timed). ");
        md.AppendLine("Table requests are counted by an `HttpPipelinePolicy` in the app's table clients (`StorageOptions.ConfigureClients`). Figures: median (min–max) of the runs.").AppendLine();

        // Small populations start every run from empty tables. The 10,000 one is seeded once (not due) and each run adds its
        // own due connections, which its drain renews out of the due window; the rows of earlier runs stay, not due.
        var population = quick ? 5_000 : 10_000;
        var configs = new List<(int N, double Due)> { (1_000, 0.01), (1_000, 1.0) };
        if (large)
        {
            configs.Add((10_000, 1.0));
            configs.Add((100_000, 0.01));
        }

        configs.Add((population, 0.01));

        md.AppendLine("### 1a. Sweep cost follows the due count (emulator 0 ms, drain P = 32)").AppendLine();
        md.AppendLine(Inv, $"Every run starts from empty tables, except {population:N0} × 1%: its {population - population / 100:N0} connections that are not due are seeded once, each run adds {population / 100:N0} due ones under its own ids, and the connections renewed by earlier runs stay (not due), so the table holds {population:N0} rows in run 1 and {population / 100:N0} more in each later run. Those {population:N0} are then the token API's population (section 2).").AppendLine();
        md.AppendLine("| connections | due | sweep wall | index rows read | table requests in sweep | queue messages | drain (P=32) | renewals/s sweep+drain | table requests / renewal | alloc / renewal | seed time |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        string[] populationIds = [];
        foreach (var (n, dueShare) in configs)
        {
            var due = (int)Math.Round(n * dueShare);
            var shared = n == population && dueShare < 1.0;
            var sharedSeedSeconds = 0.0;
            if (shared)
            {
                var seed = Stopwatch.StartNew();
                populationIds = await SeedPopulationAsync(stack, n - due);
                sharedSeedSeconds = seed.Elapsed.TotalSeconds;
            }

            var sweep = new List<double>(); var drain = new List<double>(); var rate = new List<double>(); var opsPer = new List<double>(); var alloc = new List<double>(); var seedT = new List<double>();
            long rowsRead = 0, sweepOps = 0, enqueued = 0;
            string sweepOpsDetail = "", drainOpsDetail = "";
            double indexWritesPerRenewal = 0;
            // The --large rows take ~15 minutes a run against Azurite (seeding and reading scale with its table): one run each.
            var configRuns = due > 1_000 || n >= IndexOnlyFrom ? 1 : runs;
            for (var run = 0; run < configRuns; run++)
            {
                var (seedSeconds, s, d) = shared
                    ? await SweepAndDrainAsync(stack, due, due, $"due{run}", reset: false, $"N={n} run {run + 1}")
                    : await SweepAndDrainAsync(stack, n, due, "bench", reset: true, $"N={n} run {run + 1}", indexOnlyNotDue: n >= IndexOnlyFrom);
                if (shared && run == 0)
                {
                    populationIds = [.. populationIds, .. Enumerable.Range(0, due).Select(i => $"due0-{i:D6}")];
                }

                seedT.Add(seedSeconds);
                sweep.Add(s.Seconds);
                rowsRead = s.Counts.RowsRead("renewalindex");
                sweepOps = s.Counts.Requests;
                sweepOpsDetail = s.Counts.Describe();
                enqueued = s.Result.Enqueued;
                drain.Add(d.Seconds);
                rate.Add(d.Renewed / (s.Seconds + d.Seconds));
                opsPer.Add(d.RequestsPerRenewal);
                indexWritesPerRenewal = (double)d.Counts.ByMethodTable.Where(kv => kv.Key.EndsWith(" renewalindex", StringComparison.Ordinal)).Sum(kv => kv.Value) / Math.Max(1, d.Renewed);
                alloc.Add(d.AllocatedPerRenewal);
                drainOpsDetail = d.DescribePerRenewal();
            }

            var seedCell = shared ? $"{sharedSeedSeconds:F0} s once + {Sec(seedT)} per run" : Sec(seedT);
            md.AppendLine(Inv, $"| {n:N0} | {due:N0} ({dueShare:P0}) | {Ms(sweep)} | {rowsRead:N0} | {sweepOps:N0} | {enqueued:N0} | {Sec(drain)} | {Num(rate)} | {Num(opsPer, "F1")} | {Kb(alloc)} | {seedCell} |");
            if (n == 1_000 && dueShare >= 1.0)
            {
                scale.SweepSecondsPerDue = Stats.Median(sweep) / due;
                scale.DrainOpsDetail = drainOpsDetail;
                scale.DrainIndexWritesPerRenewal = indexWritesPerRenewal;
                scale.SweepOpsDetail = sweepOpsDetail;
            }

            if (shared)
            {
                scale.SweepPopulation = n;
                scale.SweepPopulation1Pct = Stats.Median(sweep);
            }

            if (n == 1_000 && dueShare < 1.0)
            {
                scale.Sweep1k1Pct = Stats.Median(sweep);
            }
        }

        md.AppendLine();
        if (large)
        {
            md.AppendLine(Inv, $"From {IndexOnlyFrom:N0} connections, those not due get their renewal index entry but no connection row: neither the sweep nor the drain reads their rows, and Azurite's insert looks for an existing row by scanning every row with the same row key (section 2b), so {IndexOnlyFrom:N0} rows would take hours to seed. The sweep's work is the same either way: it reads the index only. The rows with more than 1,000 due or from {IndexOnlyFrom:N0} connections are one run each (a run of 10,000 due takes about a quarter of an hour here).").AppendLine();
        }

        md.AppendLine(Inv, $"Table requests of one sweep of 1,000 × 100% due, by method and table: {scale.SweepOpsDetail} (plus one queue `PUT` message per due connection).").AppendLine();
        md.AppendLine(Inv, $"Table requests per renewal in the drain, by method and table: {scale.DrainOpsDetail}.").AppendLine();
        return populationIds;
    }

    /// <summary>Empty tables, then <paramref name="n"/> connections that are not due, <c>tok-000000</c>…; returns their ids.</summary>
    internal static async Task<string[]> SeedPopulationAsync(Stack stack, int n)
    {
        stack.Emulator.Faults.Latency = TimeSpan.Zero;
        await stack.ResetAsync();
        await stack.SeedAsync(n, 0, idPrefix: "tok");
        return [.. Enumerable.Range(0, n).Select(i => $"tok-{i:D6}")];
    }

    /// <summary>
    /// One run of table 1a: <paramref name="n"/> connections named <paramref name="idPrefix"/>-…, of which <paramref name="due"/>
    /// are due (emulator 0 ms), seeded into emptied tables or, without <paramref name="reset"/>, added to what is there; the
    /// sweep, then the drain of every enqueued message at P = 32.
    /// </summary>
    internal static async Task<(double SeedSeconds, SweepRun Sweep, DrainRun Drain)> SweepAndDrainAsync(Stack stack, int n, int due, string idPrefix, bool reset, string tag, bool indexOnlyNotDue = false)
    {
        stack.Emulator.Faults.Latency = TimeSpan.Zero;
        var seed = Stopwatch.StartNew();
        if (reset)
        {
            await stack.ResetAsync();
        }

        if (indexOnlyNotDue)
        {
            await stack.SeedAsync(due, due, idPrefix);
            await stack.ScheduleOnlyAsync(n - due, $"{idPrefix}-later");
        }
        else
        {
            await stack.SeedAsync(n, due, idPrefix);
        }

        var seedSeconds = seed.Elapsed.TotalSeconds;
        var s = await stack.SweepAsync();
        var d = await stack.DrainAsync(32, int.MaxValue);
        if (d.Renewed != due || d.StillDue != 0)
        {
            Console.WriteLine($"  WARNING: {d.Renewed} renewed of {due}, {d.StillDue} still due");
        }

        Console.WriteLine($"  sweep due={due} {tag}: sweep {s.Seconds * 1000:F0} ms, drain {d.Seconds:F2} s, {d.Renewed} renewed, {s.Counts.Describe()}; slowest renewal {d.Latencies.DefaultIfEmpty().Max():F0} ms, slowest table request {d.Counts.Slowest}");
        return (seedSeconds, s, d);
    }
}
