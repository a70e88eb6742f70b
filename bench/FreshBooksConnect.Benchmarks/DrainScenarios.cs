using System.Diagnostics;
using System.Text;
using static FreshBooksConnect.Benchmarks.Report;

namespace FreshBooksConnect.Benchmarks;

/// <summary>Section 1 of the report, second half: table 1b, the queue drain by worker parallelism and FreshBooks latency.</summary>
internal static class DrainScenarios
{
    /// <summary>Table 1b.</summary>
    internal static async Task RunAsync(Stack stack, StringBuilder md, int runs, bool quick, ScaleInputs scale)
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
    /// One run of table 1b: <paramref name="count"/> due connections swept at 0 ms (not timed), then the drain of their
    /// <paramref name="count"/> messages with P workers at the given FreshBooks latency. The first run seeds them into empty
    /// tables; a run <paramref name="again"/> moves the clock one token lifetime on instead, so the connections the previous
    /// run renewed fall due again (FreshBooks refresh tokens do not expire) and no grant is requested twice.
    /// </summary>
    internal static async Task<DrainRun> DrainOnlyAsync(Stack stack, int count, int latencyMs, int parallelism, bool again, string tag)
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
}
