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
        var response = await Table.GetEntityIfExistsAsync<TableEntity>(connectionId, RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    public async Task<ConnectionPage> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken)
    {
        await foreach (var page in Table.QueryAsync<TableEntity>(maxPerPage: pageSize, cancellationToken: cancellationToken).AsPages(continuationToken, pageSize).ConfigureAwait(false))
        {
            return new ConnectionPage(page.Values.Select(FromEntity).ToList(), page.ContinuationToken);
        }

        return new ConnectionPage([], null);
    }

    public async Task<StoreWrite> AddAsync(Connection connection, CancellationToken cancellationToken)
    {
        try
        {
            var response = await Table.AddEntityAsync(ToEntity(connection), cancellationToken).ConfigureAwait(false);
            return new StoreWrite(StoreWriteOutcome.Written, response.Headers.ETag ?? default);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return new StoreWrite(StoreWriteOutcome.Conflict, default);
        }
    }

    public Task<StoreWrite> ReplaceAsync(Connection connection, CancellationToken cancellationToken) =>
        UpdateAsync(ToEntity(connection), connection.ETag, TableUpdateMode.Replace, cancellationToken);

    public Task<StoreWrite> WriteLeaseAsync(Connection connection, CancellationToken cancellationToken)
    {
        // A merge cannot remove a property, so it only ever takes a lease; a renewal's full save clears it.
        if (connection.LeaseOwner is null || connection.LeaseUntil is null)
        {
            throw new ArgumentException("A lease write needs an owner and an expiry.", nameof(connection));
        }

        // Two properties, not the whole row: the tokens are not re-encrypted and the body is a tenth of the size.
        var lease = new TableEntity(connection.Id, RowKey) { ["LeaseOwner"] = connection.LeaseOwner, ["LeaseUntil"] = connection.LeaseUntil };
        return UpdateAsync(lease, connection.ETag, TableUpdateMode.Merge, cancellationToken);
    }

    public async Task<StoreWrite> DeleteAsync(Connection connection, CancellationToken cancellationToken)
    {
        try
        {
            await Table.DeleteEntityAsync(connection.Id, RowKey, connection.ETag, cancellationToken).ConfigureAwait(false);
            return new StoreWrite(StoreWriteOutcome.Written, default);
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return Refused(ex);
        }
    }

    private async Task<StoreWrite> UpdateAsync(TableEntity entity, ETag ifMatch, TableUpdateMode mode, CancellationToken cancellationToken)
    {
        try
        {
            var response = await Table.UpdateEntityAsync(entity, ifMatch, mode, cancellationToken).ConfigureAwait(false);
            return new StoreWrite(StoreWriteOutcome.Written, response.Headers.ETag ?? default);
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return Refused(ex);
        }
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
