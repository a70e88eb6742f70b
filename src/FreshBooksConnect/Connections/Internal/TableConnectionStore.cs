using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Security;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Connections.Internal;

/// <summary>Connections as rows of the <c>connections</c> table: partition = connection id, tokens encrypted per row.</summary>
internal sealed class TableConnectionStore(StorageClients storage, ITokenProtector protector) : IConnectionStore
{
    internal const string RowKey = "connection";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private TableClient Table => storage.Connections;

    public async Task<Connection?> GetAsync(string connectionId, CancellationToken cancellationToken)
    {
        var entity = await ReadAsync(connectionId, cancellationToken).ConfigureAwait(false);
        return entity is null ? null : FromEntity(entity);
    }

    public Task<ConnectionPage> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken) =>
        StorageFailures.GuardAsync(
            async () =>
            {
                await foreach (var page in Table.QueryAsync<TableEntity>(maxPerPage: pageSize, cancellationToken: cancellationToken).AsPages(continuationToken, pageSize).ConfigureAwait(false))
                {
                    return new ConnectionPage(page.Values.Select(FromEntity).ToList(), page.ContinuationToken);
                }

                return new ConnectionPage([], null);
            },
            cancellationToken);

    public async Task<StoreWrite> AddAsync(Connection connection, CancellationToken cancellationToken)
    {
        var entity = ToEntity(connection);
        try
        {
            var response = await StorageFailures.GuardAsync(() => Table.AddEntityAsync(entity, cancellationToken), cancellationToken).ConfigureAwait(false);
            return new StoreWrite(StoreWriteOutcome.Written, response.Headers.ETag ?? default);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Either the id is taken, or this very insert landed and its answer was lost (the SDK's retry then meets the row).
            return await OwnWriteOrAsync(entity, IsSameTokenWrite, StoreWriteOutcome.Conflict, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<StoreWrite> ReplaceAsync(Connection connection, CancellationToken cancellationToken)
    {
        var entity = ToEntity(connection);
        return await UpdateAsync(entity, connection.ETag, TableUpdateMode.Replace, IsSameTokenWrite, cancellationToken).ConfigureAwait(false);
    }

    public Task<StoreWrite> WriteLeaseAsync(Connection connection, CancellationToken cancellationToken)
    {
        // A merge cannot remove a property, so it only ever takes a lease; a renewal's full save clears it.
        if (connection.LeaseOwner is null || connection.LeaseUntil is null)
        {
            throw new ArgumentException("A lease write needs an owner and an expiry.", nameof(connection));
        }

        // Two properties, not the whole row: the tokens are not re-encrypted and the body is a tenth of the size.
        var lease = new TableEntity(connection.Id, RowKey) { ["LeaseOwner"] = connection.LeaseOwner, ["LeaseUntil"] = connection.LeaseUntil };
        return UpdateAsync(lease, connection.ETag, TableUpdateMode.Merge, IsSameLease, cancellationToken);
    }

    public async Task<StoreWrite> DeleteAsync(Connection connection, CancellationToken cancellationToken)
    {
        try
        {
            await StorageFailures.GuardAsync(() => Table.DeleteEntityAsync(connection.Id, RowKey, connection.ETag, cancellationToken), cancellationToken).ConfigureAwait(false);
            return new StoreWrite(StoreWriteOutcome.Written, default);
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            // A 404 may be this delete's own earlier try, whose answer was lost: the caller treats "gone" as gone.
            return Refused(ex);
        }
    }

    private async Task<StoreWrite> UpdateAsync(TableEntity entity, ETag ifMatch, TableUpdateMode mode, Func<TableEntity, TableEntity, bool> isOwnWrite, CancellationToken cancellationToken)
    {
        try
        {
            var response = await StorageFailures.GuardAsync(() => Table.UpdateEntityAsync(entity, ifMatch, mode, cancellationToken), cancellationToken).ConfigureAwait(false);
            return new StoreWrite(StoreWriteOutcome.Written, response.Headers.ETag ?? default);
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            // The row changed: by someone else, or by this very write whose answer was lost before the SDK retried it.
            return await OwnWriteOrAsync(entity, isOwnWrite, StoreWriteOutcome.Conflict, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return Refused(ex);
        }
    }

    /// <summary>Reads the row back after a refused write: if it holds exactly what was written, the write was ours and it landed.</summary>
    private async Task<StoreWrite> OwnWriteOrAsync(TableEntity written, Func<TableEntity, TableEntity, bool> isOwnWrite, StoreWriteOutcome otherwise, CancellationToken cancellationToken)
    {
        var stored = await ReadAsync(written.PartitionKey, cancellationToken).ConfigureAwait(false);
        return stored is not null && isOwnWrite(written, stored)
            ? new StoreWrite(StoreWriteOutcome.Written, stored.ETag)
            : new StoreWrite(stored is null ? StoreWriteOutcome.NotFound : otherwise, default);
    }

    // Every full write encrypts the tokens with a fresh random nonce: the same ciphertext can only be this write's.
    private static bool IsSameTokenWrite(TableEntity written, TableEntity stored) =>
        written.GetString("RefreshToken") is { Length: > 0 } refresh && refresh == stored.GetString("RefreshToken");

    private static bool IsSameLease(TableEntity written, TableEntity stored) =>
        written.GetString("LeaseOwner") == stored.GetString("LeaseOwner") && written.GetDateTimeOffset("LeaseUntil") is { } until
        && stored.GetDateTimeOffset("LeaseUntil") is { } storedUntil && (until - storedUntil).Duration() < TimeSpan.FromMilliseconds(1);

    private async Task<TableEntity?> ReadAsync(string connectionId, CancellationToken cancellationToken)
    {
        var response = await StorageFailures.GuardAsync(() => Table.GetEntityIfExistsAsync<TableEntity>(connectionId, RowKey, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    private static StoreWrite Refused(RequestFailedException ex) =>
        new(ex.Status == 412 ? StoreWriteOutcome.Conflict : StoreWriteOutcome.NotFound, default);

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
            ETag = e.ETag,
        };
    }
}
