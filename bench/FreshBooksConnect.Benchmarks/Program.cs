using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using FreshBooks.Emulator;
using FreshBooksConnect;
using FreshBooksConnect.Connections;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.LocalHost;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Storage;
using FreshBooksConnect.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static FreshBooksConnect.Benchmarks.Report;

namespace FreshBooksConnect.Benchmarks;

/// <summary>
/// Load benchmark: Azurite + the FreshBooks emulator + the function app in the local host, on loopback, in this process
/// (cold start runs the local host as its own process). Writes a markdown body to the path given as first argument.
/// Flags: --large (adds 10,000 x 100% due and 100,000 x 1% sweeps), --quick (1 run each, smaller), --micro (only section 5).
/// Before/after mode (Program.Compare.cs): --compare-run &lt;out.json&gt; [--label &lt;text&gt;] [--quick] runs the renewal core set and
/// writes its figures; --compare-report &lt;out.md&gt; [--command &lt;text&gt;] &lt;label&gt;=&lt;file.json&gt;... tabulates several of those.
/// </summary>
public static partial class Program
{
    private const string ClientId = "bench-client";
    private const string ClientSecret = "bench-secret";

    /// <summary>Share of token API calls that need an inline refresh in the "10% inline refresh" variant.</summary>
    private const double RefreshShare = 0.10;

    /// <summary>Sweep populations from this size are seeded with index entries only for their connections that are not due.</summary>
    private const int IndexOnlyFrom = 100_000;

    /// <summary>Connections in the inline window per such run: more than 10% of the calls any run here makes (~100 requests/s × 4 s).</summary>
    private const int RefreshPool = 250;

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

        // The sweep's 10,000-connection population is seeded once and then serves the token API as well (seeding it into
        // Azurite takes about a minute), so the token section runs between the sweep and the drain tables, which reset.
        var scaleInputs = new ScaleInputs();
        var renewal = new StringBuilder();
        var token = new StringBuilder();
        var population = await SweepScenarios(stack, renewal, runs, large, quick, scaleInputs);
        await TokenScenarios(stack, token, runs, quick, population, scaleInputs);
        await DrainScenarios(stack, renewal, runs, quick, scaleInputs);
        md.Append(renewal).Append(token);
        await OnboardingScenario(stack, md, runs, quick);
        await ColdStartScenario(stack, md, runs);
        MicroBenchmarks(md, quick);
        WriteAnalysis(md, scaleInputs);

        md.AppendLine(CultureInfo.InvariantCulture, $"_Benchmark wall time: {total.Elapsed.TotalMinutes:F1} min; bench process peak working set {Mb(Process.GetCurrentProcess().PeakWorkingSet64)}._");
        await File.WriteAllTextAsync(output, md.ToString());
        Console.WriteLine($"done in {total.Elapsed.TotalMinutes:F1} min -> {output}");
        return 0;
    }

    // ---------------------------------------------------------------- 1. renewal

    /// <summary>Table 1a. Returns the ids of the 10,000-connection population it leaves seeded, for the token API.</summary>
    private static async Task<string[]> SweepScenarios(Stack stack, StringBuilder md, int runs, bool large, bool quick, ScaleInputs scale)
    {
        md.AppendLine("## 1. Renewal sweep and queue drain").AppendLine();
        md.AppendLine("Connections are seeded through `IConnectionStore.AddAsync` + `IRenewalIndex.ScheduleAsync`; ");
        md.AppendLine("the due ones carry real emulator grants (authorize URL → `ApproveAsync` → code exchange), the others dummy tokens and a `NextRenewalAt` 2–11 h ahead. ");
        md.AppendLine("The sweep is `RenewalSweep.SweepAsync` (what the timer function calls); the drain receives the enqueued messages and runs ");
        md.AppendLine("`host.InvokeAsync(\"RenewConnection\", msg)` with P concurrent workers (queue receive/delete is not timed). ");
        md.AppendLine("Table requests are counted by an `HttpPipelinePolicy` in the app's `StorageClients`. Figures: median (min–max) of the runs.").AppendLine();

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
    private static async Task<string[]> SeedPopulationAsync(Stack stack, int n)
    {
        stack.Emulator.Faults.Latency = TimeSpan.Zero;
        await stack.ResetAsync();
        await stack.SeedAsync(n, 0, idPrefix: "tok");
        return [.. Enumerable.Range(0, n).Select(i => $"tok-{i:D6}")];
    }

    /// <summary>Table 1b.</summary>
    private static async Task DrainScenarios(Stack stack, StringBuilder md, int runs, bool quick, ScaleInputs scale)
    {
        // 1b. drain throughput vs parallelism and FreshBooks latency
        md.AppendLine("### 1b. Queue drain: renewals/s by worker parallelism and FreshBooks latency (all seeded connections due)").AppendLine();
        md.AppendLine("Each run sweeps 500 due connections (at 150 ms: 50 × P, at most 500, to keep the default set short) and times the drain of all of them. The first run of a row seeds them into empty tables; each later one moves the clock 13 hours on, so the connections the run before renewed are due again.").AppendLine();
        md.AppendLine("| FreshBooks latency | P | renewals timed | drain wall | renewals/s | p50 / p99 per renewal | table requests / renewal | peak working set |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var latency in new[] { 0, 150 })
        {
            foreach (var p in new[] { 1, 8, 32 })
            {
                var limit = latency == 0 ? (quick ? 300 : 500) : Math.Min(quick ? 300 : 500, 50 * p);
                var rate = new List<double>(); var wall = new List<double>(); var p50 = new List<double>(); var p99 = new List<double>(); var ops = new List<double>();
                long timed = 0;
                for (var run = 0; run < runs; run++)
                {
                    var d = await DrainOnlyAsync(stack, limit, latency, p, again: run > 0, $"run {run + 1}");
                    timed = d.Renewed;
                    rate.Add(d.Rate);
                    wall.Add(d.Seconds);
                    p50.Add(Stats.Percentile(d.Latencies, 0.50));
                    p99.Add(Stats.Percentile(d.Latencies, 0.99));
                    ops.Add(d.RequestsPerRenewal);
                }

                md.AppendLine(Inv, $"| {latency} ms | {p} | {timed:N0} | {Sec(wall)} | {Num(rate)} | {Stats.Median(p50):F1} / {Stats.Median(p99):F1} ms | {Num(ops, "F1")} | {Mb(Process.GetCurrentProcess().PeakWorkingSet64)} |");
                scale.DrainRate[(latency, p)] = Stats.Median(rate);
                scale.DrainP50[(latency, p)] = Stats.Median(p50);
            }
        }

        md.AppendLine();
    }

    /// <summary>
    /// One run of table 1a: <paramref name="n"/> connections named <paramref name="idPrefix"/>-…, of which <paramref name="due"/>
    /// are due (emulator 0 ms), seeded into emptied tables or, without <paramref name="reset"/>, added to what is there; the
    /// sweep, then the drain of every enqueued message at P = 32.
    /// </summary>
    private static async Task<(double SeedSeconds, SweepRun Sweep, DrainRun Drain)> SweepAndDrainAsync(Stack stack, int n, int due, string idPrefix, bool reset, string tag, bool indexOnlyNotDue = false)
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

    /// <summary>
    /// One run of table 1b: <paramref name="count"/> due connections swept at 0 ms (not timed), then the drain of their
    /// <paramref name="count"/> messages with P workers at the given FreshBooks latency. The first run seeds them into empty
    /// tables; a run <paramref name="again"/> moves the clock one token lifetime on instead, so the connections the previous
    /// run renewed fall due again (FreshBooks refresh tokens do not expire) and no grant is requested twice.
    /// </summary>
    private static async Task<DrainRun> DrainOnlyAsync(Stack stack, int count, int latencyMs, int parallelism, bool again, string tag)
    {
        stack.Emulator.Faults.Latency = TimeSpan.Zero;
        if (again)
        {
            stack.Clock.Advance(TimeSpan.FromHours(13));
        }
        else
        {
            await stack.ResetAsync();
            await stack.SeedAsync(count, count);
        }

        var s = await stack.SweepAsync();
        if (s.Result.Enqueued != count)
        {
            Console.WriteLine($"  WARNING: the sweep enqueued {s.Result.Enqueued} of {count}");
        }

        stack.Emulator.Faults.Latency = TimeSpan.FromMilliseconds(latencyMs);
        var d = await stack.DrainAsync(parallelism, count);
        stack.Emulator.Faults.Latency = TimeSpan.Zero;
        Console.WriteLine($"  drain latency={latencyMs} P={parallelism} {tag}: {d.Renewed} in {d.Seconds:F2} s = {d.Rate:F1}/s, slowest renewal {d.Latencies.DefaultIfEmpty().Max():F0} ms, slowest table request {d.Counts.Slowest}");
        return d;
    }

    static partial void MicroBenchmarks(StringBuilder md, bool quick);

    // ---------------------------------------------------------------- 2. token API

    /// <summary>Section 2 over <paramref name="population"/>, the connections section 1a left seeded.</summary>
    private static async Task TokenScenarios(Stack stack, StringBuilder md, int runs, bool quick, string[] population, ScaleInputs scale)
    {
        var duration = TimeSpan.FromSeconds(quick ? 2 : 4);
        md.AppendLine(Inv, $"## 2. Token API: `GET /api/connections/{{id}}/token` over {population.Length:N0} connections").AppendLine();
        md.AppendLine(Inv, $"The connections are section 1a's {population.Length:N0}-connection population (tokens current). C concurrent `HttpClient` loops (in this process, sharing its 2 cores with the host, Azurite being a separate node process) pick a random connection and call the API for {duration.TotalSeconds:F0} s, after 1 s of untimed calls at the same C (so the app's connections to Azurite are open: see 2b). ");
        md.AppendLine(Inv, $"\"10% inline refresh\": each run first adds {RefreshPool} connections with real grants whose stored expiry is 2 minutes ahead (inside the 5-minute inline window); every call goes, with probability 10%, to the next of them not yet called, so one call in ten refreshes inline at FreshBooks (emulator latency 150 ms during the run) and the others read a current token. The {RefreshPool} rows are deleted after the run, so every run sees the same table.").AppendLine();
        md.AppendLine("| variant | C | requests/s | p50 | p95 | p99 | errors | inline refreshes | table requests / call |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");

        using var client = TokenClient(stack);
        var seq = 0;
        foreach (var refresh in new[] { false, true })
        {
            foreach (var c in new[] { 1, 16, 64 })
            {
                var rps = new List<double>(); var p50 = new List<double>(); var p95 = new List<double>(); var p99 = new List<double>(); var opsPer = new List<double>();
                long errors = 0, refreshes = 0;
                for (var run = 0; run < runs; run++)
                {
                    var t = await TokenRunAsync(stack, client, population, refresh ? $"tokr{seq++}" : null, c, duration, $"run {run + 1}");
                    rps.Add(t.RequestsPerSecond);
                    p50.Add(Stats.Percentile(t.Load.Latencies, 0.50));
                    p95.Add(Stats.Percentile(t.Load.Latencies, 0.95));
                    p99.Add(Stats.Percentile(t.Load.Latencies, 0.99));
                    opsPer.Add(t.RequestsPerCall);
                    errors += t.Load.Errors;
                    refreshes += t.Refreshes;
                }

                md.AppendLine(Inv, $"| {(refresh ? "10% inline refresh" : "all current")} | {c} | {Num(rps)} | {Stats.Median(p50):F1} ms | {Stats.Median(p95):F1} ms | {Stats.Median(p99):F1} ms | {errors} | {(refresh ? $"{refreshes / runs:N0}/run" : "0")} | {Num(opsPer, "F2")} |");
                if (!refresh)
                {
                    scale.TokenRps[c] = Stats.Median(rps);
                }
            }
        }

        md.AppendLine();
        md.AppendLine("\"inline refreshes\" counts the emulator's logged calls during the run (token refresh calls; `users/me` is not called on refresh).").AppendLine();
        await PointReadScenario(stack, md, population);
    }

    /// <summary>
    /// Section 2b: one point read straight to Azurite, over the connections table as the product keys it (one partition
    /// per connection, one constant row key) and over a copy of the same rows whose row key is the partition key.
    /// </summary>
    private static async Task PointReadScenario(Stack stack, StringBuilder md, string[] population)
    {
        const int Reads = 500;
        var service = new TableServiceClient(stack.Azurite.ConnectionString);
        var connections = service.GetTableClient(StorageOptions.ConnectionsTableName);
        var copy = service.GetTableClient("benchpointreadcopy");
        await copy.DeleteAsync();
        await copy.CreateAsync();
        var rows = new List<TableEntity>();
        await foreach (var row in connections.QueryAsync<TableEntity>())
        {
            rows.Add(row);
        }

        var rowKey = rows[0].RowKey;
        var insert = Stopwatch.StartNew();
        await Parallel.ForEachAsync(rows, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (row, ct) =>
        {
            row.RowKey = row.PartitionKey;
            await copy.AddEntityAsync(row, ct);
        });
        var insertSeconds = insert.Elapsed.TotalSeconds;

        async Task<double[]> ReadAsync(TableClient table, Func<string, string> rowKeyOf)
        {
            var random = new Random(17);
            var latencies = new double[Reads];
            for (var i = 0; i < Reads; i++)
            {
                var id = population[random.Next(population.Length)];
                var start = Stopwatch.GetTimestamp();
                await table.GetEntityAsync<TableEntity>(id, rowKeyOf(id));
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }

            return latencies;
        }

        async Task<double[]> ConcurrentReadsAsync()
        {
            var latencies = new ConcurrentBag<double>();
            var until = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 3;
            await Task.WhenAll(Enumerable.Range(0, 64).Select(async w =>
            {
                var random = new Random(w);
                while (Stopwatch.GetTimestamp() < until)
                {
                    var start = Stopwatch.GetTimestamp();
                    await connections.GetEntityAsync<TableEntity>(population[random.Next(population.Length)], rowKey);
                    latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }));
            return [.. latencies];
        }

        await ReadAsync(connections, _ => rowKey); // warm-up of the client and both code paths
        var product = await ReadAsync(connections, _ => rowKey);
        var distinct = await ReadAsync(copy, id => id);
        await copy.DeleteAsync();
        await ConcurrentReadsAsync(); // opens the 64 connections
        var open = await ConcurrentReadsAsync();
        await Task.Delay(TimeSpan.FromSeconds(6)); // Azurite closes connections idle for 5 s
        var reopened = await ConcurrentReadsAsync();

        md.AppendLine(Inv, $"### 2b. An Azurite point read over the same {rows.Count:N0} rows: row-key layout, and new connections").AppendLine();
        md.AppendLine(Inv, $"{Reads} sequential `GetEntity` calls by `TableClient` straight to Azurite (no app), random connections. The product keys a connection row `PartitionKey = id, RowKey = \"{rowKey}\"`; the copy has `RowKey = id`, nothing else changed (its {rows.Count:N0} inserts took {insertSeconds:F1} s at 32 parallel).").AppendLine();
        md.AppendLine("| row key | p50 | p95 | p99 |");
        md.AppendLine("|---|---:|---:|---:|");
        foreach (var (name, latencies) in new[] { ($"constant (`{rowKey}`), as the product stores it", product), ("= partition key (copy)", distinct) })
        {
            md.AppendLine(Inv, $"| {name} | {Stats.Percentile(latencies, 0.50):F2} ms | {Stats.Percentile(latencies, 0.95):F2} ms | {Stats.Percentile(latencies, 0.99):F2} ms |");
        }

        md.AppendLine();
        md.AppendLine("The same point read from 64 concurrent loops for 3 s, over the product's layout: with the 64 connections already open, and again after 6 s idle, when Azurite (keep-alive 5 s) has closed them and every loop opens a new one at once.").AppendLine();
        md.AppendLine("| connections | reads | p50 | p95 | p99 | max |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, latencies) in new[] { ("already open", open), ("reopened after 6 s idle", reopened) })
        {
            md.AppendLine(Inv, $"| {name} | {latencies.Length:N0} | {Stats.Percentile(latencies, 0.50):F0} ms | {Stats.Percentile(latencies, 0.95):F0} ms | {Stats.Percentile(latencies, 0.99):F0} ms | {latencies.Max():F0} ms |");
        }

        md.AppendLine();
    }

    /// <summary>The token API's caller: one pooled client with the function key.</summary>
    private static HttpClient TokenClient(Stack stack)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = TimeSpan.FromMinutes(10) }) { BaseAddress = stack.Host.BaseUri };
        client.DefaultRequestHeaders.Add("x-functions-key", stack.Host.FunctionKey);
        return client;
    }

    /// <summary>
    /// One token API run: <paramref name="concurrency"/> loops for <paramref name="duration"/> over <paramref name="baseIds"/>.
    /// With a <paramref name="refreshPrefix"/> ("10% inline refresh"), <see cref="RefreshPool"/> connections with real grants
    /// in the inline window are seeded under that prefix, each call goes to the next unused one of them with probability
    /// 10%, the emulator answers in 150 ms during the run, and the pool's rows are deleted after it.
    /// </summary>
    private static async Task<TokenRun> TokenRunAsync(Stack stack, HttpClient client, string[] baseIds, string? refreshPrefix, int concurrency, TimeSpan duration, string tag)
    {
        string[]? pool = null;
        if (refreshPrefix is not null)
        {
            stack.Emulator.Faults.Latency = TimeSpan.Zero;
            await stack.SeedAsync(RefreshPool, RefreshPool, idPrefix: refreshPrefix, dueMeans: DueMeans.InlineWindow);
            pool = [.. Enumerable.Range(0, RefreshPool).Select(i => $"{refreshPrefix}-{i:D6}")];
            stack.Emulator.Faults.Latency = TimeSpan.FromMilliseconds(150);
        }

        // Untimed, at the run's concurrency on current tokens: the app opens its connections to Azurite first. Azurite closes
        // idle ones after 5 s, and a busy Azurite admits a burst of new ones slowly (seconds), which is not the API's latency.
        await LoadAsync(client, baseIds, concurrency, TimeSpan.FromSeconds(1));
        var refreshesBefore = stack.Emulator.Calls.Count;
        stack.Counter.Reset();
        var r = await LoadAsync(client, baseIds, concurrency, duration, pool);
        var run = new TokenRun(r, stack.Counter.Snapshot(), stack.Emulator.Calls.Count - refreshesBefore);
        stack.Emulator.Faults.Latency = TimeSpan.Zero;
        if (pool is not null)
        {
            await stack.DeleteConnectionRowsAsync(pool);
        }

        if (r.PoolExhausted > 0)
        {
            Console.WriteLine($"  WARNING: the refresh pool of {RefreshPool} ran out {r.PoolExhausted} times; those calls went to current connections");
        }

        Console.WriteLine($"  token refresh={refreshPrefix is not null} C={concurrency} {tag}: {run.RequestsPerSecond:F0} req/s, p99 {Stats.Percentile(r.Latencies, 0.99):F1} ms, errors {r.Errors}, refreshes {run.Refreshes}, slowest table request {run.Counts.Slowest}, table retries {run.Counts.Retries}");
        return run;
    }

    private sealed record TokenRun(LoadResult Load, Counts Counts, long Refreshes)
    {
        public double RequestsPerSecond => Load.Count / Load.Seconds;

        public double RequestsPerCall => (double)Counts.Requests / Math.Max(1, Load.Count);
    }

    /// <summary>
    /// Calls the token API from <paramref name="concurrency"/> loops, each call for a random one of <paramref name="ids"/> or,
    /// with probability <see cref="RefreshShare"/>, the next unused connection of <paramref name="refreshPool"/>.
    /// </summary>
    private static async Task<LoadResult> LoadAsync(HttpClient client, string[] ids, int concurrency, TimeSpan duration, string[]? refreshPool = null)
    {
        var latencies = new ConcurrentBag<double[]>();
        long errors = 0, count = 0, poolUsed = 0, poolExhausted = 0;
        var sw = Stopwatch.StartNew();
        var until = sw.Elapsed + duration;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
        {
            var random = new Random(w * 7919);
            var mine = new List<double>(4096);
            while (sw.Elapsed < until)
            {
                var id = ids[random.Next(ids.Length)];
                if (refreshPool is not null && random.NextDouble() < RefreshShare)
                {
                    var next = Interlocked.Increment(ref poolUsed) - 1;
                    if (next < refreshPool.Length)
                    {
                        id = refreshPool[next];
                    }
                    else
                    {
                        Interlocked.Increment(ref poolExhausted);
                    }
                }

                var start = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await client.GetAsync($"api/connections/{id}/token", HttpCompletionOption.ResponseContentRead);
                    await response.Content.ReadAsByteArrayAsync();
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }

                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                Interlocked.Increment(ref count);
            }

            latencies.Add([.. mine]);
        }));
        var seconds = sw.Elapsed.TotalSeconds;
        return new LoadResult(count, errors, seconds, [.. latencies.SelectMany(l => l)], poolExhausted);
    }

    private sealed record LoadResult(long Count, long Errors, double Seconds, double[] Latencies, long PoolExhausted);

    // ---------------------------------------------------------------- 3. onboarding

    private static async Task OnboardingScenario(Stack stack, StringBuilder md, int runs, bool quick)
    {
        var perRun = quick ? 50 : 200;
        md.AppendLine(Inv, $"## 3. Onboarding: Start + Callback (emulator 0 ms), {perRun} sequential onboardings per run").AppendLine();
        md.AppendLine("Per onboarding: `POST /api/onboarding-links` (not timed), then timed: `GET` the link (Start, 302 + consent cookie) → `emulator.ApproveAsync` (in-process, no HTTP) → `GET` the callback (code exchange + `users/me` at the emulator, connection stored).").AppendLine();
        stack.Emulator.Faults.Latency = TimeSpan.Zero;
        await stack.ResetAsync();
        var rate = new List<double>(); var p50 = new List<double>(); var p99 = new List<double>(); var startP50 = new List<double>(); var cbP50 = new List<double>();
        long errors = 0;
        for (var run = 0; run < runs; run++)
        {
            var cookies = new CookieContainer();
            using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = stack.Host.BaseUri };
            var total = new List<double>(); var starts = new List<double>(); var callbacks = new List<double>();
            double timedSeconds = 0;
            for (var i = 0; i < perRun; i++)
            {
                using var linkResponse = await stack.Api.PostAsync("api/onboarding-links", JsonContent($"{{\"tenantId\":\"bench-{run}-{i}\"}}"));
                var link = JsonDocument.Parse(await linkResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("url").GetString()!;
                var t0 = Stopwatch.GetTimestamp();
                using var start = await browser.GetAsync(link);
                var t1 = Stopwatch.GetTimestamp();
                if (start.StatusCode != HttpStatusCode.Found)
                {
                    errors++;
                    continue;
                }

                var redirect = await stack.Emulator.ApproveAsync(start.Headers.Location!);
                var t2 = Stopwatch.GetTimestamp();
                using var callback = await browser.GetAsync(redirect);
                await callback.Content.ReadAsStringAsync();
                var t3 = Stopwatch.GetTimestamp();
                if (callback.StatusCode != HttpStatusCode.OK)
                {
                    errors++;
                }

                starts.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                callbacks.Add(Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds);
                total.Add(Stopwatch.GetElapsedTime(t0, t3).TotalMilliseconds);
                timedSeconds += Stopwatch.GetElapsedTime(t0, t3).TotalSeconds;
            }

            rate.Add(total.Count / timedSeconds);
            p50.Add(Stats.Percentile([.. total], 0.5));
            p99.Add(Stats.Percentile([.. total], 0.99));
            startP50.Add(Stats.Percentile([.. starts], 0.5));
            cbP50.Add(Stats.Percentile([.. callbacks], 0.5));
            Console.WriteLine($"  onboarding run {run + 1}: {rate[^1]:F1}/s, p50 {p50[^1]:F1} ms, p99 {p99[^1]:F1} ms");
        }

        md.AppendLine("| onboardings/s (1 browser) | p50 | p99 | Start p50 | Callback p50 | errors |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|");
        md.AppendLine(Inv, $"| {Num(rate)} | {Ms2(p50)} | {Ms2(p99)} | {Stats.Median(startP50):F1} ms | {Stats.Median(cbP50):F1} ms | {errors} |").AppendLine();
    }

    private static StringContent JsonContent(string json) => new(json, Encoding.UTF8, "application/json");

    // ---------------------------------------------------------------- 4. cold start

    private static async Task ColdStartScenario(Stack stack, StringBuilder md, int runs)
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
