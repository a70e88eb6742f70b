using Azure;
using Azure.Data.Tables;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Consent.Internal;

/// <summary>
/// Link uses live in the consent-states table, one row per link, under the minute the link expires in and <c>link-{id}</c> (see
/// <see cref="ConsentTableLayout"/>): the consent-state purge deletes them with the expired states once the link is dead anyway.
/// </summary>
/// <remarks>
/// A link used before issue 17 has its row under <c>link-{id}</c>, row key <c>link</c>. Until that row expires with its link, it
/// still refuses the link: <see cref="IsSpentAsync"/> and <see cref="TryClaimAsync"/> read it when the link has no row of its own.
/// Claims are only ever made, spent and released in the current layout.
/// </remarks>
internal sealed class TableLinkUseStore(StorageClients storage) : ILinkUseStore
{
    private const int MaxAttempts = 4;
    private TableClient Table => storage.ConsentStates;

    public async Task<bool> IsSpentAsync(string linkId, DateTimeOffset linkExpiresAt, CancellationToken cancellationToken) =>
        (await ReadAsync(linkId, linkExpiresAt, cancellationToken).ConfigureAwait(false) ?? await ReadLegacyAsync(linkId, cancellationToken).ConfigureAwait(false)) is { } row
        && row.GetDateTimeOffset("SpentAt") is not null;

    public async Task<LinkClaimOutcome> TryClaimAsync(
        string linkId, string stateHash, DateTimeOffset linkExpiresAt, DateTimeOffset now, TimeSpan claimLifetime, CancellationToken cancellationToken)
    {
        // A claim or a spend by the version before issue 17 still counts.
        if (await ReadLegacyAsync(linkId, cancellationToken).ConfigureAwait(false) is { } legacy)
        {
            if (legacy.GetDateTimeOffset("SpentAt") is not null)
            {
                return LinkClaimOutcome.Spent;
            }

            if (legacy.GetDateTimeOffset("ClaimedAt") is { } legacyClaimedAt && legacyClaimedAt + claimLifetime > now)
            {
                return LinkClaimOutcome.InUse;
            }
        }

        var claim = new TableEntity(ConsentTableLayout.PartitionOf(linkExpiresAt), ConsentTableLayout.LinkRowKey(linkId))
        {
            ["ClaimedBy"] = stateHash,
            ["ClaimedAt"] = now,
            ["ExpiresAt"] = linkExpiresAt,
        };
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StorageFailures.GuardAsync(() => Table.AddEntityAsync(claim, cancellationToken), cancellationToken).ConfigureAwait(false);
                return LinkClaimOutcome.Claimed;
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // Someone holds or spent the link, or this very add landed though its answer was lost (then the row is ours).
            }

            var held = await ReadAsync(linkId, linkExpiresAt, cancellationToken).ConfigureAwait(false);
            if (held is null)
            {
                // Released between the add and the read.
                if (attempt >= MaxAttempts)
                {
                    return LinkClaimOutcome.InUse;
                }

                continue;
            }

            if (held.GetDateTimeOffset("SpentAt") is not null)
            {
                return LinkClaimOutcome.Spent;
            }

            if (held.GetString("ClaimedBy") == stateHash)
            {
                return LinkClaimOutcome.Claimed;
            }

            if (held.GetDateTimeOffset("ClaimedAt") is { } claimedAt && claimedAt + claimLifetime > now)
            {
                return LinkClaimOutcome.InUse;
            }

            // A claim no callback can still be working on: take it over, unless someone else just did.
            try
            {
                await StorageFailures.GuardAsync(() => Table.UpdateEntityAsync(claim, held.ETag, TableUpdateMode.Replace, cancellationToken), cancellationToken).ConfigureAwait(false);
                return LinkClaimOutcome.Claimed;
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404)
            {
                if (attempt >= MaxAttempts)
                {
                    return LinkClaimOutcome.InUse;
                }
            }
        }
    }

    public async Task<bool> MarkSpentAsync(string linkId, DateTimeOffset linkExpiresAt, string stateHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var held = await ReadAsync(linkId, linkExpiresAt, cancellationToken).ConfigureAwait(false);
            if (held is null || held.GetString("ClaimedBy") != stateHash)
            {
                return false;
            }

            if (held.GetDateTimeOffset("SpentAt") is not null)
            {
                return true;
            }

            held["SpentAt"] = now;
            try
            {
                await StorageFailures.GuardAsync(() => Table.UpdateEntityAsync(held, held.ETag, TableUpdateMode.Replace, cancellationToken), cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404)
            {
                // Changed since the read (or this update landed and the SDK retried it): read again and decide.
            }
        }

        return false;
    }

    public async Task ReleaseAsync(string linkId, DateTimeOffset linkExpiresAt, string stateHash, CancellationToken cancellationToken)
    {
        var held = await ReadAsync(linkId, linkExpiresAt, cancellationToken).ConfigureAwait(false);
        if (held is null || held.GetString("ClaimedBy") != stateHash || held.GetDateTimeOffset("SpentAt") is not null)
        {
            return;
        }

        try
        {
            await StorageFailures.GuardAsync(() => Table.DeleteEntityAsync(held.PartitionKey, held.RowKey, held.ETag, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            // Taken over or already gone: not this consent's to release any more.
        }
    }

    private Task<TableEntity?> ReadAsync(string linkId, DateTimeOffset linkExpiresAt, CancellationToken cancellationToken) =>
        ReadRowAsync(ConsentTableLayout.PartitionOf(linkExpiresAt), ConsentTableLayout.LinkRowKey(linkId), cancellationToken);

    private Task<TableEntity?> ReadLegacyAsync(string linkId, CancellationToken cancellationToken) =>
        ReadRowAsync(ConsentTableLayout.LegacyLinkPartition(linkId), ConsentTableLayout.LegacyLinkRowKey, cancellationToken);

    private async Task<TableEntity?> ReadRowAsync(string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        var response = await StorageFailures.GuardAsync(() => Table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }
}
