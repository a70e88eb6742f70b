using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using FreshBooksConnect.Storage;

namespace ConnectionsBackup;

/// <summary>
/// The rows of the connections table (each connection with the events waiting in its partition) and of the renewal index
/// (without it a restored app would never renew), as stored: tokens stay encrypted under the vault's keys. One blob of JSON
/// lines: a header, then one line per row with every property and its type, so a restore writes back the same typed row.
/// </summary>
public static class TableBackup
{
    public const string Format = "freshbooks-connect-backup/1";

    /// <summary>What is backed up: the state that outlives a consent. Consent states last minutes; queues are rebuilt by the sweep.</summary>
    public static readonly string[] Tables = [StorageOptions.ConnectionsTableName, StorageOptions.RenewalIndexTableName];

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static async Task<(string BlobName, int Rows)> ExportAsync(TableServiceClient tables, BlobContainerClient container, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream();
        var rows = 0;
        await using (var writer = new StreamWriter(content, new UTF8Encoding(false), leaveOpen: true))
        {
            await writer.WriteLineAsync(new JsonObject { ["format"] = Format, ["exportedAt"] = now.ToString("O"), ["tables"] = new JsonArray([.. Tables.Select(t => JsonValue.Create(t))]) }.ToJsonString(Json)).ConfigureAwait(false);
            foreach (var table in Tables)
            {
                await foreach (var entity in tables.GetTableClient(table).QueryAsync<TableEntity>(cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    await writer.WriteLineAsync(ToLine(table, entity).ToJsonString(Json)).ConfigureAwait(false);
                    rows++;
                }
            }
        }

        // Timestamped names sort by time, so "latest" is the last name; the random tail keeps two exports of one moment apart.
        // The container's versioning and soft delete keep overwritten or deleted blobs.
        var name = $"connections-{now.UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}.jsonl";
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        content.Position = 0;
        var hash = MD5.HashData(content);
        content.Position = 0;
        var blob = container.GetBlobClient(name);
        try
        {
            await blob.UploadAsync(content, new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All }, HttpHeaders = new BlobHttpHeaders { ContentHash = hash } }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // The SDK sent the upload again after an answer that never came: the blob there is this export's own when it holds
            // the same bytes. Anything else is another export's, and is not overwritten.
            var stored = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            if (stored.Value.ContentHash is not { } storedHash || !storedHash.AsSpan().SequenceEqual(hash))
            {
                throw;
            }
        }

        return (name, rows);
    }

    /// <summary>The newest backup in <paramref name="container"/>, or null when it holds none.</summary>
    public static async Task<string?> LatestAsync(BlobContainerClient container, CancellationToken cancellationToken)
    {
        string? latest = null;
        await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, "connections-", cancellationToken).ConfigureAwait(false))
        {
            latest = latest is null || string.CompareOrdinal(blob.Name, latest) > 0 ? blob.Name : latest;
        }

        return latest;
    }

    /// <summary>Restores a backup into tables that hold no rows; returns the row count, or an error message when it refuses.</summary>
    public static async Task<(int Rows, string? Refusal)> RestoreAsync(TableServiceClient tables, BlobContainerClient container, string blobName, CancellationToken cancellationToken)
    {
        var blob = container.GetBlobClient(blobName);
        if (!(await blob.ExistsAsync(cancellationToken).ConfigureAwait(false)).Value)
        {
            return (0, $"There is no backup '{blobName}' in container '{container.Name}'.");
        }

        var lines = (await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content.ToString()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0 || JsonNode.Parse(lines[0])?["format"]?.GetValue<string>() != Format)
        {
            return (0, $"'{blobName}' is not a backup of this tool (expected format {Format}).");
        }

        // Every line is read before anything is written: a damaged backup restores nothing.
        List<(string Table, TableEntity Entity)> rows;
        try
        {
            rows = [.. lines.Skip(1).Select(line => FromLine(JsonNode.Parse(line) as JsonObject ?? throw new InvalidDataException("a line is not a JSON object")))];
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or FormatException or InvalidOperationException)
        {
            return (0, $"'{blobName}' is damaged ({ex.GetType().Name}); nothing was restored.");
        }

        // Never merged into live data: a row restored over a newer one would bring back a spent refresh token.
        foreach (var table in Tables)
        {
            await tables.GetTableClient(table).CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            await foreach (var _ in tables.GetTableClient(table).QueryAsync<TableEntity>(maxPerPage: 1, select: ["PartitionKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                return (0, $"Table '{table}' of the target account is not empty: restore only into an account without connections.");
            }
        }

        foreach (var (table, entity) in rows)
        {
            await tables.GetTableClient(table).AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        }

        return (rows.Count, null);
    }

    private static JsonObject ToLine(string table, TableEntity entity)
    {
        var properties = new JsonObject();
        foreach (var (name, value) in entity)
        {
            if (name is "PartitionKey" or "RowKey" or "Timestamp" or "odata.etag" || value is null)
            {
                continue;
            }

            properties[name] = value switch
            {
                string s => Typed("String", s),
                DateTimeOffset d => Typed("DateTime", d.ToString("O")),
                DateTime d => Typed("DateTime", new DateTimeOffset(d.ToUniversalTime()).ToString("O")),
                long l => Typed("Int64", l.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                int i => Typed("Int32", i),
                bool b => Typed("Boolean", b),
                double f => Typed("Double", f),
                Guid g => Typed("Guid", g.ToString()),
                byte[] bytes => Typed("Binary", Convert.ToBase64String(bytes)),
                BinaryData data => Typed("Binary", Convert.ToBase64String(data.ToArray())),
                _ => throw new InvalidOperationException($"Row {entity.PartitionKey}/{entity.RowKey} of {table}: property {name} has a type this backup does not know ({value.GetType().Name})."),
            };
        }

        return new JsonObject { ["table"] = table, ["partitionKey"] = entity.PartitionKey, ["rowKey"] = entity.RowKey, ["properties"] = properties };
    }

    private static JsonObject Typed<T>(string type, T value) => new() { ["type"] = type, ["value"] = JsonValue.Create(value) };

    private static (string Table, TableEntity Entity) FromLine(JsonObject line)
    {
        var table = Text(line, "table");
        if (!Tables.Contains(table))
        {
            throw new InvalidDataException($"The backup names table '{table}', which it never exports.");
        }

        var entity = new TableEntity(Text(line, "partitionKey"), Text(line, "rowKey"));
        foreach (var (name, typed) in line["properties"] as JsonObject ?? throw new InvalidDataException("a row has no properties"))
        {
            var value = typed?["value"] ?? throw new InvalidDataException($"property {name} has no value");
            entity[name] = Text(typed.AsObject(), "type") switch
            {
                "String" => value.GetValue<string>(),
                "DateTime" => DateTimeOffset.Parse(value.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture),
                "Int64" => long.Parse(value.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture),
                "Int32" => value.GetValue<int>(),
                "Boolean" => value.GetValue<bool>(),
                "Double" => value.GetValue<double>(),
                "Guid" => Guid.Parse(value.GetValue<string>()),
                "Binary" => Convert.FromBase64String(value.GetValue<string>()),
                var other => throw new InvalidDataException($"Property {name} has an unknown type '{other}'."),
            };
        }

        return (table, entity);
    }

    private static string Text(JsonObject node, string name) =>
        node[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : throw new InvalidDataException($"'{name}' is missing or not text");
}
