using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Azure.Data.Tables;
using FreshBooksConnect.Storage;
using static FreshBooksConnect.Benchmarks.Report;

namespace FreshBooksConnect.Benchmarks;

/// <summary>
/// Section 2b: one point read straight to Azurite, over the connections table as the product keys it (one partition
/// per connection, one constant row key) and over a copy of the same rows whose row key is the partition key.
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
}
