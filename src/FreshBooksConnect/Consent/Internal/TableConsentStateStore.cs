using Azure;
using Azure.Data.Tables;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Consent.Internal;

/// <summary>
/// Consent states in the <c>consentstates</c> table, under the minute they expire in (see <see cref="ConsentTableLayout"/>); the
/// purge deletes whole expired partitions, link uses included, in entity-group transactions, and reads no live row.
/// </summary>
/// <remarks>
/// A state made before issue 17 (no expiry in it) is read and updated where that version stored it, so a consent in flight at
/// the deployment completes; the purge deletes such rows once they expired, and stops looking once none is left.
/// </remarks>
internal sealed class TableConsentStateStore(StorageClients storage) : IConsentStateStore
{
    /// <summary>Marks the version of a state stored in the layout before issue 17, so its update goes there.</summary>
    private const string LegacyVersionPrefix = "legacy;";

    /// <summary>An entity-group transaction holds at most 100 operations.</summary>
    private const int MaxBatch = 100;

    private static readonly string[] Keys = ["PartitionKey", "RowKey"];

    /// <summary>Cleared once a purge found no row of the layout before issue 17: none will be written again.</summary>
    private volatile bool _legacyRowsMayRemain = true;

    private TableClient Table => storage.ConsentStates;

    public async Task AddAsync(ConsentState state, CancellationToken cancellationToken)
    {
        var entity = ToEntity(state, legacy: false);
        try
        {
            await StorageFailures.GuardAsync(() => Table.AddEntityAsync(entity, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // The state is 256 random bits: the row that is there is this add's own, whose answer was lost.
            if (await ReadAsync(entity.PartitionKey, entity.RowKey, cancellationToken).ConfigureAwait(false) is not { } stored || !IsSameWrite(entity, stored))
            {
                throw;
            }
        }
    }

    public async Task<ConsentState?> FindAsync(string stateHash, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        var (partitionKey, rowKey) = expiresAt is { } expiry ? KeyOf(stateHash, expiry) : (stateHash, ConsentTableLayout.LegacyStateRowKey);
        var e = await ReadAsync(partitionKey, rowKey, cancellationToken).ConfigureAwait(false);
        if (e is null)
        {
            return null;
        }

        return new ConsentState
        {
            StateHash = stateHash,
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
            Version = (expiresAt is null ? LegacyVersionPrefix : "") + e.ETag,
        };
    }

    public async Task<string?> TryUpdateAsync(ConsentState state, CancellationToken cancellationToken)
    {
        var legacy = IsLegacy(state.Version);
        var entity = ToEntity(state, legacy);
        var version = legacy ? state.Version![LegacyVersionPrefix.Length..] : state.Version;
        try
        {
            var response = await StorageFailures.GuardAsync(() => Table.UpdateEntityAsync(entity, RowVersion.IfMatch(version), TableUpdateMode.Replace, cancellationToken), cancellationToken).ConfigureAwait(false);
            return VersionOf(legacy, response.Headers.ETag);
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            // Taken by another callback, or by this very update whose answer was lost before the SDK retried it.
            return ex.Status == 412 && await ReadAsync(entity.PartitionKey, entity.RowKey, cancellationToken).ConfigureAwait(false) is { } stored && IsSameWrite(entity, stored)
                ? VersionOf(legacy, stored.ETag)
                : null;
        }
    }

    public async Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        await StorageFailures.GuardAsync(
            async () =>
            {
                var purged = 0;
                await foreach (var page in Table.QueryAsync<TableEntity>(ConsentTableLayout.Expired(now), select: Keys, cancellationToken: cancellationToken).AsPages().ConfigureAwait(false))
                {
                    foreach (var partition in page.Values.GroupBy(row => row.PartitionKey, StringComparer.Ordinal))
                    {
                        foreach (var batch in partition.Chunk(MaxBatch))
                        {
                            purged += await DeleteAsync(batch, cancellationToken).ConfigureAwait(false);
                        }
                    }
                }

                return purged + await PurgeLegacyAsync(now, cancellationToken).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Rows of the layout before issue 17 that expired, one by one (each is a partition of its own); once none is left, expired or
    /// not, this process stops looking: nothing writes that layout any more.
    /// </summary>
    private async Task<int> PurgeLegacyAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!_legacyRowsMayRemain)
        {
            return 0;
        }

        var purged = 0;
        await foreach (var row in Table.QueryAsync<TableEntity>(ConsentTableLayout.Legacy(now, expired: true), select: Keys, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            purged += await DeleteAsync([row], cancellationToken).ConfigureAwait(false);
        }

        if (purged == 0)
        {
            // One key of a live row at most, and only until the last old consent or link use expired.
            await foreach (var page in Table.QueryAsync<TableEntity>(ConsentTableLayout.Legacy(now, expired: false), maxPerPage: 1, select: Keys, cancellationToken: cancellationToken).AsPages(pageSizeHint: 1).ConfigureAwait(false))
            {
                _legacyRowsMayRemain = page.Values.Count > 0;
                break;
            }
        }

        return purged;
    }

    /// <summary>Deletes rows of one partition in one transaction; if another purge deleted one of them meanwhile, the rest one by one.</summary>
    private async Task<int> DeleteAsync(IReadOnlyList<TableEntity> rows, CancellationToken cancellationToken)
    {
        try
        {
            if (rows.Count == 1)
            {
                await Table.DeleteEntityAsync(rows[0].PartitionKey, rows[0].RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await Table.SubmitTransactionAsync(rows.Select(row => new TableTransactionAction(TableTransactionActionType.Delete, row, ETag.All)), cancellationToken).ConfigureAwait(false);
            }

            return rows.Count;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            if (rows.Count == 1)
            {
                return 0;
            }

            var deleted = 0;
            foreach (var row in rows)
            {
                deleted += await DeleteAsync([row], cancellationToken).ConfigureAwait(false);
            }

            return deleted;
        }
    }

    private static (string PartitionKey, string RowKey) KeyOf(string stateHash, DateTimeOffset expiresAt) =>
        (ConsentTableLayout.PartitionOf(expiresAt), ConsentTableLayout.StateRowKey(stateHash));

    private static bool IsLegacy(string? version) => version?.StartsWith(LegacyVersionPrefix, StringComparison.Ordinal) == true;

    private static string? VersionOf(bool legacy, ETag? etag) => etag is { } tag ? (legacy ? LegacyVersionPrefix : "") + tag : null;

    private static bool IsSameWrite(TableEntity written, TableEntity stored) => written.GetString("WriteId") == stored.GetString("WriteId");

    private async Task<TableEntity?> ReadAsync(string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        var response = await StorageFailures.GuardAsync(() => Table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Each write carries a random id of its own, so a write can recognise itself when the SDK retried it.</summary>
    private static TableEntity ToEntity(ConsentState s, bool legacy)
    {
        var (partitionKey, rowKey) = legacy ? (s.StateHash, ConsentTableLayout.LegacyStateRowKey) : KeyOf(s.StateHash, s.ExpiresAt);
        return new TableEntity(partitionKey, rowKey)
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
}
