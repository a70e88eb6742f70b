using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Azure;
using Azure.Data.Tables;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Events.Internal;

/// <summary>
/// The <c>events</c> table's partitions <c>feed</c> (row key <c>{ticks}-{event id}</c>: one range query reads on from a cursor),
/// <c>failed</c> (row key = event id) and <c>webhook</c> (one row per receiver that answered 410).
/// </summary>
internal sealed class TableEventFeed(StorageClients storage) : IEventFeed
{
    private const string FeedPartition = "feed";
    private const string FailedPartition = "failed";
    private const string WebhookPartition = "webhook";
    private const int MaxTransactionActions = 100;
    private TableClient Table => storage.Events;

    /// <summary>The feed key of an event added at <paramref name="at"/>: ordered by time, unique by event id.</summary>
    internal static string FeedKey(DateTimeOffset at, string eventId) => $"{at.UtcTicks.ToString("D19", CultureInfo.InvariantCulture)}-{eventId}";

    public Task AppendAsync(ConnectionEvent connectionEvent, string feedKey, CancellationToken cancellationToken) =>
        StorageFailures.GuardAsync(
            () => Table.UpsertEntityAsync(new TableEntity(FeedPartition, feedKey) { ["Payload"] = connectionEvent.ToJson() }, TableUpdateMode.Replace, cancellationToken),
            cancellationToken);

    public async Task<EventPage?> ReadAsync(string? cursor, DateTimeOffset settledBefore, int limit, CancellationToken cancellationToken)
    {
        var after = "";
        if (cursor is not null)
        {
            // The cursor is the last key read, base64url-wrapped so a client treats it as opaque and a damaged one is caught.
            try
            {
                after = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            }
            catch (FormatException)
            {
                return null;
            }

            if (after.Length < 20 || !long.TryParse(after.AsSpan(0, 19), NumberStyles.None, CultureInfo.InvariantCulture, out _) || after[19] != '-')
            {
                return null;
            }
        }

        // Entries added in the last moments may still be landing out of key order (instances' clocks differ a little): they
        // are read once settled, so a cursor never steps past an entry that lands later with a smaller key.
        var upper = settledBefore.UtcTicks.ToString("D19", CultureInfo.InvariantCulture);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {FeedPartition} and RowKey gt {after} and RowKey lt {upper}");
        var events = new List<ConnectionEvent>();
        var last = after;
        await foreach (var page in Table.QueryAsync<TableEntity>(filter, maxPerPage: limit, select: ["PartitionKey", "RowKey", "Payload"], cancellationToken: cancellationToken).AsPages(pageSizeHint: limit).Guarded(cancellationToken).ConfigureAwait(false))
        {
            foreach (var row in page.Values.Take(limit - events.Count))
            {
                if (ConnectionEvent.FromJson(row.GetString("Payload") ?? "null") is { } connectionEvent)
                {
                    events.Add(connectionEvent);
                }

                last = row.RowKey;
            }

            if (events.Count >= limit)
            {
                break;
            }
        }

        return new EventPage(events, last.Length == 0 ? cursor : Base64Url.EncodeToString(Encoding.UTF8.GetBytes(last)));
    }

    public Task<int> PurgeAsync(DateTimeOffset before, CancellationToken cancellationToken) =>
        StorageFailures.GuardAsync(
            async () =>
            {
                var upper = before.UtcTicks.ToString("D19", CultureInfo.InvariantCulture);
                var filter = TableClient.CreateQueryFilter($"PartitionKey eq {FeedPartition} and RowKey lt {upper}");
                var purged = 0;
                var keys = new List<string>();
                await foreach (var row in Table.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    keys.Add(row.RowKey);
                }

                // One partition: up to 100 deletes a transaction.
                foreach (var chunk in keys.Chunk(MaxTransactionActions))
                {
                    await Table.SubmitTransactionAsync(chunk.Select(key => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(FeedPartition, key), ETag.All)), cancellationToken).ConfigureAwait(false);
                    purged += chunk.Length;
                }

                return purged;
            },
            cancellationToken);

    public Task AddFailedAsync(FailedEvent failed, CancellationToken cancellationToken) =>
        StorageFailures.GuardAsync(
            () => Table.UpsertEntityAsync(
                new TableEntity(FailedPartition, failed.Event.Id)
                {
                    ["Payload"] = failed.Event.ToJson(),
                    ["Attempts"] = failed.Attempts,
                    ["FailedAt"] = failed.FailedAt,
                    ["LastError"] = failed.LastError,
                },
                TableUpdateMode.Replace,
                cancellationToken),
            cancellationToken);

    public async Task<IReadOnlyList<FailedEvent>> ListFailedAsync(int limit, CancellationToken cancellationToken)
    {
        var failed = new List<FailedEvent>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {FailedPartition}");
        await foreach (var page in Table.QueryAsync<TableEntity>(filter, maxPerPage: limit, cancellationToken: cancellationToken).AsPages(pageSizeHint: limit).Guarded(cancellationToken).ConfigureAwait(false))
        {
            failed.AddRange(page.Values.Select(ToFailed).OfType<FailedEvent>().Take(limit - failed.Count));
            if (failed.Count >= limit)
            {
                break;
            }
        }

        return failed;
    }

    public async Task<FailedEvent?> FindFailedAsync(string eventId, CancellationToken cancellationToken)
    {
        var row = await StorageFailures.GuardAsync(() => Table.GetEntityIfExistsAsync<TableEntity>(FailedPartition, eventId, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        return row is { HasValue: true, Value: { } entity } ? ToFailed(entity) : null;
    }

    public async Task RemoveFailedAsync(string eventId, CancellationToken cancellationToken)
    {
        try
        {
            await StorageFailures.GuardAsync(() => Table.DeleteEntityAsync(FailedPartition, eventId, ETag.All, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Redelivered already.
        }
    }

    public async Task<bool> IsWebhookGoneAsync(string urlKey, CancellationToken cancellationToken) =>
        (await StorageFailures.GuardAsync(() => Table.GetEntityIfExistsAsync<TableEntity>(WebhookPartition, urlKey, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false)).HasValue;

    public Task MarkWebhookGoneAsync(string urlKey, DateTimeOffset at, CancellationToken cancellationToken) =>
        StorageFailures.GuardAsync(
            () => Table.UpsertEntityAsync(new TableEntity(WebhookPartition, urlKey) { ["GoneAt"] = at }, TableUpdateMode.Replace, cancellationToken),
            cancellationToken);

    private static FailedEvent? ToFailed(TableEntity row) =>
        ConnectionEvent.FromJson(row.GetString("Payload") ?? "null") is { } connectionEvent
            ? new FailedEvent(connectionEvent, row.GetInt32("Attempts") ?? 0, row.GetDateTimeOffset("FailedAt") ?? DateTimeOffset.MinValue, row.GetString("LastError"))
            : null;
}
