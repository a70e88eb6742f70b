using System.Globalization;
using Azure;
using Azure.Data.Tables;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Renewal.Internal;

/// <summary>
/// The <c>renewalindex</c> table: one partition, row key <c>{renewAt ticks, 19 digits}_{connectionId}</c>, so "due by now" is
/// one range query that returns only due rows.
/// </summary>
internal sealed class TableRenewalIndex(StorageClients storage) : IRenewalIndex, IRenewalIndexWriter
{
    internal const string Partition = "due";
    private const int MaxTransactionActions = 100;
    private TableClient Table => storage.RenewalIndex;

    public async Task ScheduleAsync(string connectionId, DateTimeOffset renewAt, CancellationToken cancellationToken)
    {
        // An index entry holds no token and is keyed by its own content, so an upsert cannot lose anything.
        var entity = new TableEntity(Partition, Key(renewAt, connectionId)) { ["ConnectionId"] = connectionId, ["RenewAt"] = renewAt };
        await StorageFailures.GuardAsync(() => Table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveAsync(string connectionId, DateTimeOffset renewAt, CancellationToken cancellationToken)
    {
        try
        {
            await StorageFailures.GuardAsync(() => Table.DeleteEntityAsync(Partition, Key(renewAt, connectionId), ETag.All, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Already gone: another renewal cleaned it up, or this delete landed and its answer was lost.
        }
    }

    public Task DropStaleAsync(string connectionId, DateTimeOffset renewAt, CancellationToken cancellationToken) =>
        RemoveAsync(connectionId, renewAt, cancellationToken);

    public async IAsyncEnumerable<RenewalIndexEntry> ReadDueAsync(DateTimeOffset now, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var upper = Ticks(now.AddTicks(1));
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey lt {upper}");
        await foreach (var page in Table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).AsPages().Guarded(cancellationToken).ConfigureAwait(false))
        {
            foreach (var entity in page.Values)
            {
                yield return new RenewalIndexEntry(
                    entity.GetString("ConnectionId") ?? entity.RowKey[20..],
                    entity.GetDateTimeOffset("RenewAt") ?? new DateTimeOffset(long.Parse(entity.RowKey[..19], CultureInfo.InvariantCulture), TimeSpan.Zero),
                    entity.GetDateTimeOffset("EnqueuedAt"),
                    entity.ETag.ToString());
            }
        }
    }

    public async Task<IReadOnlyList<RenewalIndexEntry>> MarkEnqueuedAsync(IReadOnlyList<RenewalIndexEntry> entries, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // All entries share one partition, so up to 100 marks go in one entity-group transaction: one round trip, not 100.
        // Each mark carries this call's id, so a transaction that landed but whose answer was lost recognises itself.
        var markId = Guid.NewGuid().ToString("N");
        var marked = new List<RenewalIndexEntry>(entries.Count);
        foreach (var chunk in entries.Chunk(MaxTransactionActions))
        {
            var pending = chunk.ToList();
            while (pending.Count > 0)
            {
                try
                {
                    await StorageFailures.GuardAsync(() => Table.SubmitTransactionAsync(pending.Select(e => MarkAction(e, now, markId)), cancellationToken), cancellationToken).ConfigureAwait(false);
                    marked.AddRange(pending);
                    break;
                }
                catch (TableTransactionFailedException ex) when (ex.Status is 412 or 404 && ex.FailedTransactionActionIndex is { } failed && failed < pending.Count)
                {
                    if (await IsMarkedByAsync(pending[failed], markId, cancellationToken).ConfigureAwait(false))
                    {
                        // This very transaction landed (all or nothing): every entry in it is ours.
                        marked.AddRange(pending);
                        break;
                    }

                    // A transaction is all or nothing: the entry that changed since it was read (marked by another sweep, or
                    // removed by its renewal) is not ours to hand out; the rest are submitted again without it.
                    pending.RemoveAt(failed);
                }
            }
        }

        return marked;
    }

    private async Task<bool> IsMarkedByAsync(RenewalIndexEntry entry, string markId, CancellationToken cancellationToken)
    {
        var stored = await StorageFailures.GuardAsync(() => Table.GetEntityIfExistsAsync<TableEntity>(Partition, Key(entry.RenewAt, entry.ConnectionId), cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        return stored is { HasValue: true, Value: { } row } && row.GetString("MarkedBy") == markId;
    }

    private static TableTransactionAction MarkAction(RenewalIndexEntry entry, DateTimeOffset now, string markId) => new(
        TableTransactionActionType.UpdateMerge,
        new TableEntity(Partition, Key(entry.RenewAt, entry.ConnectionId)) { ["EnqueuedAt"] = now, ["MarkedBy"] = markId },
        RowVersion.IfMatch(entry.Version));

    internal static string Key(DateTimeOffset renewAt, string connectionId) => $"{Ticks(renewAt)}_{connectionId}";

    private static string Ticks(DateTimeOffset time) => time.UtcTicks.ToString("D19", CultureInfo.InvariantCulture);
}
