using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Azure.Data.Tables;
using FreshBooksConnect.Storage;
using static FreshBooksConnect.Benchmarks.Report;

namespace FreshBooksConnect.Benchmarks;

/// <summary>
/// Section 2b: one point read straight to Azurite, over the connections table as the product keys it (one partition per
/// connection; since issue 19 the row key is the id too) and over a copy of the same rows in the other layout (the constant row key
/// <c>connection</c> of earlier versions; or, built against an earlier version, the id).
/// </summary>
internal static class PointReadScenario
{
    internal static async Task RunAsync(Stack stack, StringBuilder md, string[] population)
    {
        const int Reads = 500;
        var service = new TableServiceClient(stack.Azurite.ConnectionString);
        var connections = service.GetTableClient(StorageOptions.ConnectionsTableName);
        var copy = service.GetTableClient("benchpointreadcopy");
        await copy.DeleteAsync();
        await copy.CreateAsync();
        var rows = new List<TableEntity>();
        await foreach (var row in connections.QueryAsync<TableEntity>("RowKey lt '~'"))
        {
            rows.Add(row);
        }

        // The connection rows only (outbox rows start with '~'), in the product's layout and the other one.
        var keyedById = rows[0].RowKey == rows[0].PartitionKey;
        var constantKey = keyedById ? "connection" : rows[0].RowKey;
        Func<string, string> productKey = keyedById ? id => id : _ => constantKey;
        Func<string, string> copyKey = keyedById ? _ => constantKey : id => id;
        var insert = Stopwatch.StartNew();
        await Parallel.ForEachAsync(rows, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (row, ct) =>
        {
            row.RowKey = copyKey(row.PartitionKey);
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
                    var id = population[random.Next(population.Length)];
                    await connections.GetEntityAsync<TableEntity>(id, productKey(id));
                    latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }));
            return [.. latencies];
        }

        await ReadAsync(connections, productKey); // warm-up of the client and both code paths
        var product = await ReadAsync(connections, productKey);
        var other = await ReadAsync(copy, copyKey);
        await copy.DeleteAsync();
        await ConcurrentReadsAsync(); // opens the 64 connections
        var open = await ConcurrentReadsAsync();
        await Task.Delay(TimeSpan.FromSeconds(6)); // Azurite closes connections idle for 5 s
        var reopened = await ConcurrentReadsAsync();

        md.AppendLine(Inv, $"### 2b. An Azurite point read over the same {rows.Count:N0} rows: row-key layout, and new connections").AppendLine();
        var productLayout = keyedById ? "`RowKey = id`" : $"`RowKey = \"{constantKey}\"`";
        var copyLayout = keyedById ? $"`RowKey = \"{constantKey}\"` (the layout before issue 19)" : "`RowKey = id`";
        md.AppendLine(Inv, $"{Reads} sequential `GetEntity` calls by `TableClient` straight to Azurite (no app), random connections. The product keys a connection row `PartitionKey = id`, {productLayout}; the copy has {copyLayout}, nothing else changed (its {rows.Count:N0} inserts took {insertSeconds:F1} s at 32 parallel).").AppendLine();
        md.AppendLine("| row key | p50 | p95 | p99 |");
        md.AppendLine("|---|---:|---:|---:|");
        var layouts = new[] { ($"{productLayout}, as the product stores it", product), ($"{copyLayout}, copy", other) };
        foreach (var (name, latencies) in layouts)
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
}
