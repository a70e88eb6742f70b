using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Security;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Connections.Internal;

/// <summary>
/// Connections as rows of the <c>connections</c> table: partition = connection id, tokens encrypted per row. Each write keeps the
/// renewal index in step with the row it writes.
/// </summary>
internal sealed class TableConnectionStore(StorageClients storage, ITokenProtector protector, IRenewalIndexWriter index, ILogger<TableConnectionStore> logger) : IConnectionStore
{
    internal const string RowKey = "connection";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private TableClient Table => storage.Connections;

    public async Task<Connection?> GetAsync(string connectionId, CancellationToken cancellationToken)
    {
        var entity = await ReadAsync(connectionId, cancellationToken).ConfigureAwait(false);
        return entity is null ? null : FromEntity(entity);
    }

    public async Task<ConnectionPage?> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken)
    {
        try
        {
            return await StorageFailures.GuardAsync(
                async () =>
                {
                    await foreach (var page in Table.QueryAsync<TableEntity>(maxPerPage: pageSize, cancellationToken: cancellationToken).AsPages(continuationToken, pageSize).ConfigureAwait(false))
                    {
                        return new ConnectionPage(page.Values.Select(FromEntity).ToList(), page.ContinuationToken);
                    }

                    return new ConnectionPage([], null);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 400 && continuationToken is not null)
        {
            // Storage refuses a continuation token it did not hand out.
            return null;
        }
    }

    public async Task<WriteResult> WriteAsync(ConnectionChange change, CancellationToken cancellationToken)
    {
        var (before, after) = (change.Before, change.After);
        switch (change.Kind)
        {
            case ConnectionChangeKind.Leased:
                return await WriteLeaseAsync(after, cancellationToken).ConfigureAwait(false);
            case ConnectionChangeKind.Removed:
                var removed = await DeleteAsync(after, cancellationToken).ConfigureAwait(false);
                if (removed.Outcome is WriteOutcome.Written or WriteOutcome.NotFound && after.NextRenewalAt is { } entry)
                {
                    await RemoveEntryAsync(after.Id, entry).ConfigureAwait(false);
                }

                return removed;
        }

        // The new entry is written before the row points at it (a row never points at a missing entry); the old one after.
        var scheduled = after.NextRenewalAt is { } next && next != before?.NextRenewalAt ? next : (DateTimeOffset?)null;
        if (scheduled is { } renewAt)
        {
            await index.ScheduleAsync(after.Id, renewAt, cancellationToken).ConfigureAwait(false);
        }

        var entity = ToEntity(after);
        var write = before is null
            ? await AddAsync(entity, cancellationToken).ConfigureAwait(false)
            : await UpdateAsync(entity, after.Version, TableUpdateMode.Replace, IsSameTokenWrite, cancellationToken).ConfigureAwait(false);
        if (write.Outcome == WriteOutcome.Written)
        {
            if (before?.NextRenewalAt is { } previous && previous != after.NextRenewalAt)
            {
                await RemoveEntryAsync(after.Id, previous).ConfigureAwait(false);
            }

            return new WriteResult(WriteOutcome.Written, after.At(write.Version));
        }

        if (scheduled is { } stale)
        {
            // This write did not land: its entry is a reminder of nothing.
            await RemoveEntryAsync(after.Id, stale).ConfigureAwait(false);
        }

        return WriteResult.Refused(write.Outcome);
    }

    private async Task<WriteResult> WriteLeaseAsync(Connection leased, CancellationToken cancellationToken)
    {
        // A merge cannot remove a property, so it only ever takes a lease; a renewal's full save clears it.
        if (leased.LeaseOwner is null || leased.LeaseUntil is null)
        {
            throw new ArgumentException("A lease write needs an owner and an expiry.", nameof(leased));
        }

        // Two properties, not the whole row: the tokens are not re-encrypted and the body is a tenth of the size.
        var lease = new TableEntity(leased.Id, RowKey) { ["LeaseOwner"] = leased.LeaseOwner, ["LeaseUntil"] = leased.LeaseUntil };
        var write = await UpdateAsync(lease, leased.Version, TableUpdateMode.Merge, IsSameLease, cancellationToken).ConfigureAwait(false);
        return write.Outcome == WriteOutcome.Written ? new WriteResult(WriteOutcome.Written, leased.At(write.Version)) : WriteResult.Refused(write.Outcome);
    }

    private async Task<WriteResult> DeleteAsync(Connection connection, CancellationToken cancellationToken)
    {
        try
        {
            await StorageFailures.GuardAsync(() => Table.DeleteEntityAsync(connection.Id, RowKey, RowVersion.IfMatch(connection.Version), cancellationToken), cancellationToken).ConfigureAwait(false);
            return new WriteResult(WriteOutcome.Written, connection);
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            // A 404 may be this delete's own earlier try, whose answer was lost: the caller treats "gone" as gone.
            return WriteResult.Refused(ex.Status == 412 ? WriteOutcome.Conflict : WriteOutcome.NotFound);
        }
    }

    private async Task<RowWrite> AddAsync(TableEntity entity, CancellationToken cancellationToken)
    {
        try
        {
            var response = await StorageFailures.GuardAsync(() => Table.AddEntityAsync(entity, cancellationToken), cancellationToken).ConfigureAwait(false);
            return new RowWrite(WriteOutcome.Written, response.Headers.ETag?.ToString());
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Either the id is taken, or this very insert landed and its answer was lost (the SDK's retry then meets the row).
            return await OwnWriteOrAsync(entity, IsSameTokenWrite, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<RowWrite> UpdateAsync(TableEntity entity, string? ifMatch, TableUpdateMode mode, Func<TableEntity, TableEntity, bool> isOwnWrite, CancellationToken cancellationToken)
    {
        try
        {
            var response = await StorageFailures.GuardAsync(() => Table.UpdateEntityAsync(entity, RowVersion.IfMatch(ifMatch), mode, cancellationToken), cancellationToken).ConfigureAwait(false);
            return new RowWrite(WriteOutcome.Written, response.Headers.ETag?.ToString());
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            // The row changed: by someone else, or by this very write whose answer was lost before the SDK retried it.
            return await OwnWriteOrAsync(entity, isOwnWrite, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return new RowWrite(WriteOutcome.NotFound, null);
        }
    }

    /// <summary>Reads the row back after a refused write: if it holds exactly what was written, the write was ours and it landed.</summary>
    private async Task<RowWrite> OwnWriteOrAsync(TableEntity written, Func<TableEntity, TableEntity, bool> isOwnWrite, CancellationToken cancellationToken)
    {
        var stored = await ReadAsync(written.PartitionKey, cancellationToken).ConfigureAwait(false);
        return stored is null ? new RowWrite(WriteOutcome.NotFound, null)
            : isOwnWrite(written, stored) ? new RowWrite(WriteOutcome.Written, stored.ETag.ToString())
            : new RowWrite(WriteOutcome.Conflict, null);
    }

    // Every full write encrypts the tokens with a fresh random nonce: the same ciphertext can only be this write's.
    private static bool IsSameTokenWrite(TableEntity written, TableEntity stored) =>
        written.GetString("RefreshToken") is { Length: > 0 } refresh && refresh == stored.GetString("RefreshToken");

    private static bool IsSameLease(TableEntity written, TableEntity stored) =>
        written.GetString("LeaseOwner") == stored.GetString("LeaseOwner") && written.GetDateTimeOffset("LeaseUntil") is { } until
        && stored.GetDateTimeOffset("LeaseUntil") is { } storedUntil && (until - storedUntil).Duration() < TimeSpan.FromMilliseconds(1);

    /// <summary>The row is written: the entry it no longer points at is only a reminder, and a stale one is dropped when it comes due.</summary>
    private async Task RemoveEntryAsync(string connectionId, DateTimeOffset renewAt)
    {
        try
        {
            await index.RemoveAsync(connectionId, renewAt, CancellationToken.None).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            Log.StaleEntryLeft(logger, connectionId, ex.Status);
        }
    }

    private async Task<TableEntity?> ReadAsync(string connectionId, CancellationToken cancellationToken)
    {
        var response = await StorageFailures.GuardAsync(() => Table.GetEntityIfExistsAsync<TableEntity>(connectionId, RowKey, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    private readonly record struct RowWrite(WriteOutcome Outcome, string? Version);

    private TableEntity ToEntity(Connection c) => !c.TokensReadable
        ? throw new InvalidOperationException($"Connection '{c.Id}' has tokens that cannot be decrypted; writing it would destroy them.")
        : new(c.Id, RowKey)
    {
        ["TenantId"] = c.TenantId,
        ["IdentityId"] = c.Identity.Id,
        ["IdentityUuid"] = c.Identity.IdentityUuid,
        ["FirstName"] = c.Identity.FirstName,
        ["LastName"] = c.Identity.LastName,
        ["Email"] = c.Identity.Email,
        ["Businesses"] = JsonSerializer.Serialize(c.Identity.Businesses, Json),
        ["Scopes"] = c.Scopes,
        ["AccessToken"] = protector.Protect(c.AccessToken, c.Id),
        ["RefreshToken"] = protector.Protect(c.RefreshToken, c.Id),
        ["AccessTokenExpiresAt"] = c.AccessTokenExpiresAt,
        ["TokenGeneration"] = c.TokenGeneration,
        ["Status"] = c.Status.ToString(),
        ["StatusReason"] = c.StatusReason,
        ["StatusChangedAt"] = c.StatusChangedAt,
        ["CreatedAt"] = c.CreatedAt,
        ["UpdatedAt"] = c.UpdatedAt,
        ["LastRenewedAt"] = c.LastRenewedAt,
        ["FailedAttempts"] = c.FailedAttempts,
        ["LastError"] = c.LastError,
        ["LastErrorAt"] = c.LastErrorAt,
        ["NextRenewalAt"] = c.NextRenewalAt,
        ["LeaseOwner"] = c.LeaseOwner,
        ["LeaseUntil"] = c.LeaseUntil,
    };

    private Connection FromEntity(TableEntity e)
    {
        var id = e.PartitionKey;
        var readable = protector.TryUnprotect(e.GetString("AccessToken") ?? "", id, out var accessToken)
            & protector.TryUnprotect(e.GetString("RefreshToken") ?? "", id, out var refreshToken);
        return new Connection
        {
            Id = id,
            TenantId = e.GetString("TenantId"),
            Identity = new FreshBooksIdentity(
                e.GetInt64("IdentityId") ?? 0,
                e.GetString("IdentityUuid"),
                e.GetString("FirstName"),
                e.GetString("LastName"),
                e.GetString("Email"),
                JsonSerializer.Deserialize<List<BusinessMembership>>(e.GetString("Businesses") ?? "[]", Json) ?? []),
            Scopes = e.GetString("Scopes") ?? "",
            AccessToken = readable ? accessToken : "",
            RefreshToken = readable ? refreshToken : "",
            TokensReadable = readable,
            AccessTokenExpiresAt = e.GetDateTimeOffset("AccessTokenExpiresAt") ?? DateTimeOffset.MinValue,
            TokenGeneration = e.GetInt64("TokenGeneration") ?? 0,
            Status = Enum.TryParse<ConnectionStatus>(e.GetString("Status"), out var status) ? status : ConnectionStatus.Active,
            StatusReason = e.GetString("StatusReason"),
            StatusChangedAt = e.GetDateTimeOffset("StatusChangedAt"),
            CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
            UpdatedAt = e.GetDateTimeOffset("UpdatedAt") ?? DateTimeOffset.MinValue,
            LastRenewedAt = e.GetDateTimeOffset("LastRenewedAt"),
            FailedAttempts = e.GetInt32("FailedAttempts") ?? 0,
            LastError = e.GetString("LastError"),
            LastErrorAt = e.GetDateTimeOffset("LastErrorAt"),
            NextRenewalAt = e.GetDateTimeOffset("NextRenewalAt"),
            LeaseOwner = e.GetString("LeaseOwner"),
            LeaseUntil = e.GetDateTimeOffset("LeaseUntil"),
            Version = e.ETag.ToString(),
        };
    }
}
