using Azure;
using Azure.Data.Tables;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Consent.Internal;

internal sealed class TableConsentStateStore(StorageClients storage) : IConsentStateStore
{
    private const string RowKey = "state";
    private TableClient Table => storage.ConsentStates;

    public async Task AddAsync(ConsentState state, CancellationToken cancellationToken)
    {
        var entity = ToEntity(state);
        try
        {
            await StorageFailures.GuardAsync(() => Table.AddEntityAsync(entity, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // The state is 256 random bits: the row that is there is this add's own, whose answer was lost.
            if (await ReadAsync(entity.PartitionKey, cancellationToken).ConfigureAwait(false) is not { } stored || !IsSameWrite(entity, stored))
            {
                throw;
            }
        }
    }

    public async Task<ConsentState?> FindAsync(string stateHash, CancellationToken cancellationToken)
    {
        var e = await ReadAsync(stateHash, cancellationToken).ConfigureAwait(false);
        if (e is null)
        {
            return null;
        }

        return new ConsentState
        {
            StateHash = e.PartitionKey,
            BrowserBindingHash = e.GetString("BrowserBindingHash") ?? "",
            TenantId = e.GetString("TenantId"),
            TenantName = e.GetString("TenantName"),
            ReturnUrl = e.GetString("ReturnUrl"),
            LinkId = e.GetString("LinkId"),
            LinkExpiresAt = e.GetDateTimeOffset("LinkExpiresAt"),
            AllowIdentityChange = e.GetBoolean("AllowIdentityChange") ?? false,
            UsesPkce = e.GetBoolean("UsesPkce") ?? false,
            CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
            ExpiresAt = e.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue,
            ConsumedAt = e.GetDateTimeOffset("ConsumedAt"),
            ConnectionId = e.GetString("ConnectionId"),
            Version = e.ETag.ToString(),
        };
    }

    public async Task<string?> TryUpdateAsync(ConsentState state, CancellationToken cancellationToken)
    {
        var entity = ToEntity(state);
        try
        {
            var response = await StorageFailures.GuardAsync(() => Table.UpdateEntityAsync(entity, RowVersion.IfMatch(state.Version), TableUpdateMode.Replace, cancellationToken), cancellationToken).ConfigureAwait(false);
            return response.Headers.ETag?.ToString();
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            // Taken by another callback, or by this very update whose answer was lost before the SDK retried it.
            return ex.Status == 412 && await ReadAsync(state.StateHash, cancellationToken).ConfigureAwait(false) is { } stored && IsSameWrite(entity, stored)
                ? stored.ETag.ToString()
                : null;
        }
    }

    public async Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var purged = 0;
        var filter = TableClient.CreateQueryFilter($"ExpiresAt lt {now}");
        return await StorageFailures.GuardAsync(
            async () =>
            {
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
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static bool IsSameWrite(TableEntity written, TableEntity stored) => written.GetString("WriteId") == stored.GetString("WriteId");

    private async Task<TableEntity?> ReadAsync(string stateHash, CancellationToken cancellationToken)
    {
        var response = await StorageFailures.GuardAsync(() => Table.GetEntityIfExistsAsync<TableEntity>(stateHash, RowKey, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Each write carries a random id of its own, so a write can recognise itself when the SDK retried it.</summary>
    private static TableEntity ToEntity(ConsentState s) => new(s.StateHash, RowKey)
    {
        ["WriteId"] = Guid.NewGuid().ToString("N"),
        ["BrowserBindingHash"] = s.BrowserBindingHash,
        ["TenantId"] = s.TenantId,
        ["TenantName"] = s.TenantName,
        ["ReturnUrl"] = s.ReturnUrl,
        ["LinkId"] = s.LinkId,
        ["LinkExpiresAt"] = s.LinkExpiresAt,
        ["AllowIdentityChange"] = s.AllowIdentityChange ? true : null,
        ["UsesPkce"] = s.UsesPkce ? true : null,
        ["CreatedAt"] = s.CreatedAt,
        ["ExpiresAt"] = s.ExpiresAt,
        ["ConsumedAt"] = s.ConsumedAt,
        ["ConnectionId"] = s.ConnectionId,
    };
}
