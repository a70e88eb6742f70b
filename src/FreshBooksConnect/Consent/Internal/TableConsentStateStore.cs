using Azure;
using Azure.Data.Tables;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Consent.Internal;

internal sealed class TableConsentStateStore(StorageClients storage) : IConsentStateStore
{
    private const string RowKey = "state";
    private TableClient Table => storage.ConsentStates;

    public async Task AddAsync(ConsentState state, CancellationToken cancellationToken) =>
        await Table.AddEntityAsync(ToEntity(state), cancellationToken).ConfigureAwait(false);

    public async Task<ConsentState?> FindAsync(string stateHash, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<TableEntity>(stateHash, RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!response.HasValue)
        {
            return null;
        }

        var e = response.Value!;
        return new ConsentState
        {
            StateHash = e.PartitionKey,
            BrowserBindingHash = e.GetString("BrowserBindingHash") ?? "",
            TenantId = e.GetString("TenantId"),
            ReturnUrl = e.GetString("ReturnUrl"),
            CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
            ExpiresAt = e.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue,
            ConsumedAt = e.GetDateTimeOffset("ConsumedAt"),
            ConnectionId = e.GetString("ConnectionId"),
            ETag = e.ETag,
        };
    }

    public async Task<ETag?> TryUpdateAsync(ConsentState state, CancellationToken cancellationToken)
    {
        try
        {
            var response = await Table.UpdateEntityAsync(ToEntity(state), state.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return response.Headers.ETag;
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return null;
        }
    }

    public async Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var purged = 0;
        var filter = TableClient.CreateQueryFilter($"ExpiresAt lt {now}");
        await foreach (var entity in Table.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await Table.DeleteEntityAsync(entity.PartitionKey, entity.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
                purged++;
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // Purged by another sweep at the same time.
            }
        }

        return purged;
    }

    private static TableEntity ToEntity(ConsentState s) => new(s.StateHash, RowKey)
    {
        ["BrowserBindingHash"] = s.BrowserBindingHash,
        ["TenantId"] = s.TenantId,
        ["ReturnUrl"] = s.ReturnUrl,
        ["CreatedAt"] = s.CreatedAt,
        ["ExpiresAt"] = s.ExpiresAt,
        ["ConsumedAt"] = s.ConsumedAt,
        ["ConnectionId"] = s.ConnectionId,
    };
}
