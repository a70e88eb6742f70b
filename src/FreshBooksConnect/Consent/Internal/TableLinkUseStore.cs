using Azure;
using Azure.Data.Tables;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Consent.Internal;

/// <summary>
/// Link uses live in the consent-states table, one row per link under <c>link-{id}</c> (a state's key is a hex hash, so the two
/// never meet), with <c>ExpiresAt</c> the link's expiry: the consent-state purge deletes them once the link is dead anyway.
/// </summary>
internal sealed class TableLinkUseStore(StorageClients storage) : ILinkUseStore
{
    private const string RowKey = "link";
    private const int MaxAttempts = 4;
    private TableClient Table => storage.ConsentStates;

    public async Task<bool> IsSpentAsync(string linkId, CancellationToken cancellationToken) =>
        await ReadAsync(linkId, cancellationToken).ConfigureAwait(false) is { } row && row.GetDateTimeOffset("SpentAt") is not null;

    public async Task<LinkClaimOutcome> TryClaimAsync(
        string linkId, string stateHash, DateTimeOffset linkExpiresAt, DateTimeOffset now, TimeSpan claimLifetime, CancellationToken cancellationToken)
    {
        var claim = new TableEntity(PartitionKey(linkId), RowKey)
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

            var held = await ReadAsync(linkId, cancellationToken).ConfigureAwait(false);
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

    public async Task<bool> MarkSpentAsync(string linkId, string stateHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var held = await ReadAsync(linkId, cancellationToken).ConfigureAwait(false);
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

    public async Task ReleaseAsync(string linkId, string stateHash, CancellationToken cancellationToken)
    {
        var held = await ReadAsync(linkId, cancellationToken).ConfigureAwait(false);
        if (held is null || held.GetString("ClaimedBy") != stateHash || held.GetDateTimeOffset("SpentAt") is not null)
        {
            return;
        }

        try
        {
            await StorageFailures.GuardAsync(() => Table.DeleteEntityAsync(held.PartitionKey, RowKey, held.ETag, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            // Taken over or already gone: not this consent's to release any more.
        }
    }

    private static string PartitionKey(string linkId) => "link-" + linkId;

    private async Task<TableEntity?> ReadAsync(string linkId, CancellationToken cancellationToken)
    {
        var response = await StorageFailures.GuardAsync(() => Table.GetEntityIfExistsAsync<TableEntity>(PartitionKey(linkId), RowKey, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }
}
