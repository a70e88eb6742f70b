using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using static FreshBooksConnect.Benchmarks.Report;

namespace FreshBooksConnect.Benchmarks;

/// <summary>Section 2 of the report: the token API under load, all current and with 10% inline refresh; ends with 2b.</summary>
internal static class TokenScenarios
{
    /// <summary>Share of token API calls that need an inline refresh in the "10% inline refresh" variant.</summary>
    private const double RefreshShare = 0.10;

    /// <summary>Connections in the inline window per such run: more than 10% of the calls any run here makes (~100 requests/s × 4 s).</summary>
    private const int RefreshPool = 250;

    /// <summary>Section 2 over <paramref name="population"/>, the connections section 1a left seeded.</summary>
    internal static async Task RunAsync(Stack stack, StringBuilder md, int runs, bool quick, string[] population, ScaleInputs scale)
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
        await PointReadScenario.RunAsync(stack, md, population);
    }

    /// <summary>The token API's caller: one pooled client with the function key.</summary>
    internal static HttpClient TokenClient(Stack stack)
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
    internal static async Task<TokenRun> TokenRunAsync(Stack stack, HttpClient client, string[] baseIds, string? refreshPrefix, int concurrency, TimeSpan duration, string tag)
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

    internal sealed record TokenRun(LoadResult Load, Counts Counts, long Refreshes)
    {
        public double RequestsPerSecond => Load.Count / Load.Seconds;

        public double RequestsPerCall => (double)Counts.Requests / Math.Max(1, Load.Count);
    }

    /// <summary>
    /// Calls the token API from <paramref name="concurrency"/> loops, each call for a random one of <paramref name="ids"/> or,
    /// with probability <see cref="RefreshShare"/>, the next unused connection of <paramref name="refreshPool"/>.
    /// </summary>
    internal static async Task<LoadResult> LoadAsync(HttpClient client, string[] ids, int concurrency, TimeSpan duration, string[]? refreshPool = null)
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

    internal sealed record LoadResult(long Count, long Errors, double Seconds, double[] Latencies, long PoolExhausted);
}
