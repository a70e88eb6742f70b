using System.Collections.Concurrent;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>Counts the app's table requests and the entities each table returns, from the storage traffic itself.</summary>
public sealed class TableReadCounter : HttpPipelinePolicy
{
    private readonly ConcurrentDictionary<string, int> _rows = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<(string Table, Uri Uri)> _queries = new();

    public int RowsRead(string table) => _rows.GetValueOrDefault(table);

    /// <summary>Requests with <paramref name="method"/> to <paramref name="target"/>: a table name, or <c>$batch</c> for transactions.</summary>
    public int Requests(string method, string target) => _requests.GetValueOrDefault($"{method} {target}");

    /// <summary>The query requests (GETs) sent to <paramref name="table"/>, in order, with their <c>$filter</c> and <c>$select</c>.</summary>
    public IReadOnlyList<Uri> Queries(string table) => [.. _queries.Where(q => string.Equals(q.Table, table, StringComparison.OrdinalIgnoreCase)).Select(q => q.Uri)];

    /// <summary>Puts this counter in the pipeline of the table clients of the app whose services these are.</summary>
    public void AddTo(IServiceCollection services) => services.Configure<StorageOptions>(o => o.ConfigureClients += options =>
    {
        if (options is TableClientOptions)
        {
            options.AddPolicy(this, HttpPipelinePosition.PerCall);
        }
    });

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ProcessNext(message, pipeline);
        Count(message);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        await ProcessNextAsync(message, pipeline);
        Count(message);
    }

    private void Count(HttpMessage message)
    {
        // .../devstoreaccount1/{table}(), .../{table}(PartitionKey='..',RowKey='..') or .../$batch
        var last = message.Request.Uri.Path.Split('/', StringSplitOptions.RemoveEmptyEntries)[^1];
        var table = last.Split('(')[0];
        _requests.AddOrUpdate($"{message.Request.Method.Method} {table}", 1, (_, n) => n + 1);
        if (message.Request.Method == RequestMethod.Get)
        {
            _queries.Enqueue((table, message.Request.Uri.ToUri()));
        }

        if (message.Request.Method != RequestMethod.Get || message.Response.Status != 200)
        {
            return;
        }

        using var body = JsonDocument.Parse(message.Response.Content.ToMemory());
        var count = body.RootElement.TryGetProperty("value", out var value) ? value.GetArrayLength() : 1;
        _rows.AddOrUpdate(table, count, (_, n) => n + count);
    }
}
