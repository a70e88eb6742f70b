using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;

namespace FreshBooksConnect.Benchmarks;

/// <summary>Counts every table request of the app by method and table, the entities GETs return and the SDK's retries; keeps the slowest (retries included).</summary>
internal sealed class RequestCounter : HttpPipelinePolicy
{
    private readonly Lock _slowestLock = new();
    private ConcurrentDictionary<string, long> _requests = new();
    private ConcurrentDictionary<string, long> _rows = new();
    private long _retries;
    private (string Key, double Ms) _slowest;

    public void Reset()
    {
        _requests = new();
        _rows = new();
        Interlocked.Exchange(ref _retries, 0);
        lock (_slowestLock)
        {
            _slowest = default;
        }
    }

    public Counts Snapshot()
    {
        lock (_slowestLock)
        {
            return new(new Dictionary<string, long>(_requests), new Dictionary<string, long>(_rows), _slowest.Key is null ? "none" : $"`{_slowest.Key}` {_slowest.Ms:F0} ms", Interlocked.Read(ref _retries));
        }
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var start = Stopwatch.GetTimestamp();
        ProcessNext(message, pipeline);
        Count(message, start);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var start = Stopwatch.GetTimestamp();
        await ProcessNextAsync(message, pipeline);
        Count(message, start);
    }

    private void Count(HttpMessage message, long start)
    {
        var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        var last = message.Request.Uri.Path.Split('/', StringSplitOptions.RemoveEmptyEntries)[^1];
        var table = last.Split('(')[0];
        var method = message.Request.Method.Method;
        if (method == "GET")
        {
            method = last.Contains("PartitionKey=", StringComparison.Ordinal) || last.Contains("PartitionKey%3D", StringComparison.Ordinal) ? "GET(point)" : "GET(query)";
        }

        var key = $"{method} {table}";
        _requests.AddOrUpdate(key, 1, (_, n) => n + 1);
        Interlocked.Add(ref _retries, message.ProcessingContext.RetryNumber);
        lock (_slowestLock)
        {
            if (ms > _slowest.Ms)
            {
                _slowest = (key, ms);
            }
        }

        if (message.Request.Method == RequestMethod.Get && message.Response.Status == 200)
        {
            using var body = JsonDocument.Parse(message.Response.Content.ToMemory());
            var count = body.RootElement.TryGetProperty("value", out var value) ? value.GetArrayLength() : 1;
            _rows.AddOrUpdate(table, count, (_, n) => n + count);
        }
    }
}

internal sealed record Counts(Dictionary<string, long> ByMethodTable, Dictionary<string, long> Rows, string Slowest, long Retries)
{
    public long Requests => ByMethodTable.Values.Sum();

    public long RowsRead(string table) => Rows.GetValueOrDefault(table);

    public string Describe(double per = 1) => ByMethodTable.Count == 0
        ? "none"
        : string.Join(", ", ByMethodTable.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"`{kv.Key}` {(kv.Value / per).ToString(per == 1 ? "N0" : "F2", CultureInfo.InvariantCulture)}"));
}
