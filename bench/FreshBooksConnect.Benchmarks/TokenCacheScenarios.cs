using System.Text;
using static FreshBooksConnect.Benchmarks.Report;

namespace FreshBooksConnect.Benchmarks;

/// <summary>
/// Section 2c (issue 19): the token API against <c>GET /api/health</c> with the token cache warm, and without the cache at 100 and
/// at 10,000 stored connections, each a ratio of figures measured in this one run.
/// </summary>
internal static class TokenCacheScenarios
{
    internal const int SmallTable = 100;
    private static readonly int[] CacheOffConcurrency = [1, 16];

    /// <summary>
    /// Section 2c over <paramref name="population"/>; ends by emptying the tables and seeding <see cref="SmallTable"/> connections
    /// for the small-table figures (the drain, next, starts from empty tables anyway).
    /// </summary>
    internal static async Task RunAsync(Stack stack, StringBuilder md, int runs, bool quick, string[] population)
    {
        var duration = TimeSpan.FromSeconds(quick ? 2 : 4);
        var large = await CacheOffAsync(stack, population, runs, quick, population.Length.ToString("N0", Inv));

        // The cached instance: a lifetime long enough for the whole measurement, room for every connection.
        await using var cached = await stack.StartHostAsync(new Dictionary<string, string?>
        {
            ["TokenCache:Lifetime"] = "00:10:00",
            ["TokenCache:MaxEntries"] = "20000",
        });
        using var client = HttpLoad.Client(cached.BaseUri, cached.FunctionKey);
        var warmUp = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(population, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (id, ct) =>
        {
            using var response = await client.GetAsync($"api/connections/{id}/token", ct);
            response.EnsureSuccessStatusCode();
        });
        var warmUpSeconds = warmUp.Elapsed.TotalSeconds;

        var health = new RunSet();
        var token = new RunSet();
        long tableRequests = 0, tokenCalls = 0;
        for (var run = 0; run < runs; run++)
        {
            health.Add(await HttpLoad.RunAsync(client, 64, duration, _ => new HttpRequestMessage(HttpMethod.Get, "api/health")));
            stack.Counter.Reset();
            var t = await HttpLoad.RunAsync(client, 64, duration, r => new HttpRequestMessage(HttpMethod.Get, $"api/connections/{population[r.Next(population.Length)]}/token"));
            tableRequests += stack.Counter.Snapshot().Requests;
            tokenCalls += t.Count;
            token.Add(t);
            Console.WriteLine($"  health vs cached token C=64 run {run + 1}: {health.Rps[^1]:F0} vs {t.RequestsPerSecond:F0} req/s, p99 {health.P99[^1]:F1} vs {t.P99:F1} ms");
        }

        // The same cache-off measurement over a table of {SmallTable} connections, in the same warm process.
        await stack.ResetAsync();
        await stack.SeedAsync(SmallTable, 0, idPrefix: "small");
        var small = await CacheOffAsync(stack, [.. Enumerable.Range(0, SmallTable).Select(i => $"small-{i:D6}")], runs, quick, SmallTable.ToString(Inv));

        md.AppendLine(Inv, $"### 2c. Token cache and row layout: a token call whose cost does not grow with the table (issue 19)").AppendLine();
        md.AppendLine(Inv, $"Measured side by side in this run, {runs} runs of {duration.TotalSeconds:F0} s each after 1 s untimed at the same C, medians; the ratio is of the medians. ");
        md.AppendLine(Inv, $"**Cache warm**: a second app instance in this process with `TokenCache__Lifetime=00:10:00`, `TokenCache__MaxEntries=20000`; each of the {population.Length:N0} connections was asked for once first ({warmUpSeconds:F1} s), then `GET /api/health` and the token API over random connections alternate at C = 64 on that instance. ");
        md.AppendLine(Inv, $"**Cache off**: the main instance (`TokenCache__Lifetime=00:00:00`, as in section 2), every call reading its row: over the {population.Length:N0} stored connections (section 1a's in the full run), then (tables emptied) over {SmallTable} newly seeded ones.").AppendLine();
        md.AppendLine("| measurement | C | requests/s | p50 | p99 | errors |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        md.AppendLine(Inv, $"| `GET /api/health` | 64 | {Num(health.Rps)} | {health.MedianP50:F1} ms | {health.MedianP99:F1} ms | {health.Errors} |");
        md.AppendLine(Inv, $"| token API, cache warm, {population.Length:N0} connections | 64 | {Num(token.Rps)} | {token.MedianP50:F1} ms | {token.MedianP99:F1} ms | {token.Errors} |");
        foreach (var c in CacheOffConcurrency)
        {
            md.AppendLine(Inv, $"| token API, cache off, {SmallTable} connections | {c} | {Num(small[c].Rps)} | {small[c].MedianP50:F2} ms | {small[c].MedianP99:F2} ms | {small[c].Errors} |");
            md.AppendLine(Inv, $"| token API, cache off, {population.Length:N0} connections | {c} | {Num(large[c].Rps)} | {large[c].MedianP50:F2} ms | {large[c].MedianP99:F2} ms | {large[c].Errors} |");
        }

        md.AppendLine();
        md.AppendLine("| ratio | value | target |");
        md.AppendLine("|---|---:|---|");
        md.AppendLine(Inv, $"| cached token requests/s ÷ health requests/s (C = 64) | {token.MedianRps / health.MedianRps:F2} | ≥ 0.70 |");
        md.AppendLine(Inv, $"| cached token p99 ÷ health p99 (C = 64) | {token.MedianP99 / health.MedianP99:F2} | ≤ 1.5 |");
        foreach (var c in CacheOffConcurrency)
        {
            md.AppendLine(Inv, $"| cache off: p50 at {population.Length:N0} ÷ p50 at {SmallTable} (C = {c}) | {large[c].MedianP50 / small[c].MedianP50:F2} | ≤ 1.3 |");
        }

        md.AppendLine();
        md.AppendLine(Inv, $"Table requests per cached token call during the timed runs: {(double)tableRequests / Math.Max(1, tokenCalls):F4} (0 = every call a cache hit). ");
        md.AppendLine("Without the cache a token call is one point read; with rows keyed by their id (`RowKey = id`, this version's layout), Azurite finds it through its row-key index instead of walking every row that shares the old constant row key (2b), so its cost no longer follows the table size.").AppendLine();
    }

    private static async Task<Dictionary<int, RunSet>> CacheOffAsync(Stack stack, string[] ids, int runs, bool quick, string label)
    {
        var duration = TimeSpan.FromSeconds(quick ? 2 : 4);
        using var client = HttpLoad.Client(stack.Host.BaseUri, stack.Host.FunctionKey);
        var figures = new Dictionary<int, RunSet>();
        foreach (var c in CacheOffConcurrency)
        {
            var set = figures[c] = new RunSet();
            for (var run = 0; run < runs; run++)
            {
                var f = await HttpLoad.RunAsync(client, c, duration, r => new HttpRequestMessage(HttpMethod.Get, $"api/connections/{ids[r.Next(ids.Length)]}/token"));
                set.Add(f);
                Console.WriteLine($"  token cache off over {label} C={c} run {run + 1}: {f.RequestsPerSecond:F0} req/s, p50 {f.P50:F2} ms");
            }
        }

        return figures;
    }
}
