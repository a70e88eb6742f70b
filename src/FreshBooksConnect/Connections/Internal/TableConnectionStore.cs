using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Events;
using FreshBooksConnect.Events.Internal;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Security;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Connections.Internal;

/// <summary>
/// Connections as rows of the <c>connections</c> table: partition = connection id, tokens encrypted per row. Each write keeps the
/// renewal index in step with the row it writes, and writes the event a change makes in the same entity-group transaction as
/// the row (the connection's partition is its outbox), with a reminder written first so a crash after it still delivers it.
/// </summary>
internal sealed class TableConnectionStore(
    StorageClients storage, ITokenProtector protector, IRenewalIndexWriter index, IEventOutbox outbox, RenewalMetrics metrics, TimeProvider time, ILogger<TableConnectionStore> logger)
    : IConnectionStore
{
    internal const string RowKey = "connection";

    /// <summary>How long the event delivery's fast path (a queue message right after the write) has before the reminder brings it.</summary>
    private static readonly TimeSpan EventRecoveryDelay = TimeSpan.FromMinutes(1);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private TableClient Table => storage.Connections;

    public async Task<Connection?> GetAsync(string connectionId, CancellationToken cancellationToken)
    {
        var entity = await ReadAsync(connectionId, cancellationToken).ConfigureAwait(false);
        return entity is null ? null : FromEntity(entity);
    }

    public async Task<ConnectionPage?> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken)
    {
        // The connection rows only, not the events waiting in their partitions.
        var filter = TableClient.CreateQueryFilter($"RowKey eq {RowKey}");
        try
        {
            return await StorageFailures.GuardAsync(
                async () =>
                {
                    await foreach (var page in Table.QueryAsync<TableEntity>(filter, maxPerPage: pageSize, cancellationToken: cancellationToken).AsPages(continuationToken, pageSize).ConfigureAwait(false))
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
        var connectionEvent = ConnectionEvent.For(change);
        var reminder = connectionEvent is null
            ? null
            : await outbox.RemindAsync(change.After.Id, time.GetUtcNow() + EventRecoveryDelay, cancellationToken).ConfigureAwait(false);
        var result = await WriteChangeAsync(change, connectionEvent is null ? null : TableEventOutbox.ToEntity(connectionEvent), cancellationToken).ConfigureAwait(false);
        if (result.Written)
        {
            metrics.ConnectionWritten(change);
        }

        if (reminder is not null && result.Outcome != WriteOutcome.Conflict)
        {
            await NotifyAsync(new EventMessage(change.After.Id, reminder)).ConfigureAwait(false);
        }

        return result;
    }

    private async Task<WriteResult> WriteChangeAsync(ConnectionChange change, TableEntity? eventRow, CancellationToken cancellationToken)
    {
        var (before, after) = (change.Before, change.After);
        switch (change.Kind)
        {
            case ConnectionChangeKind.Leased:
                return await WriteLeaseAsync(after, cancellationToken).ConfigureAwait(false);
            case ConnectionChangeKind.Removed:
                var removed = await DeleteAsync(after, eventRow, cancellationToken).ConfigureAwait(false);
                if (removed.Outcome is WriteOutcome.Written or WriteOutcome.NotFound && after.NextRenewalAt is { } entry)
                {
                    await RemoveEntryAsync(after.Id, entry).ConfigureAwait(false);
                }

                return removed;
            case ConnectionChangeKind.UnreadableReported:
                // A merge of the report only: the tokens can't be decrypted, so the row must not be written whole.
                var report = new TableEntity(after.Id, RowKey) { ["UnreadableReportedAt"] = after.UnreadableReportedAt, ["WriteId"] = change.WriteId };
                var reported = await WriteRowAsync(new TableTransactionAction(TableTransactionActionType.UpdateMerge, report, RowVersion.IfMatch(after.Version)), eventRow, IsSameWrite, cancellationToken).ConfigureAwait(false);
                return reported.Outcome == WriteOutcome.Written ? new WriteResult(WriteOutcome.Written, after.At(reported.Version)) : WriteResult.Refused(reported.Outcome);
        }

        // The new entry is written before the row points at it (a row never points at a missing entry); the old one after.
        var scheduled = after.NextRenewalAt is { } next && next != before?.NextRenewalAt ? next : (DateTimeOffset?)null;
        if (scheduled is { } renewAt)
        {
            await index.ScheduleAsync(after.Id, renewAt, cancellationToken).ConfigureAwait(false);
        }

        var entity = ToEntity(after, change.WriteId);
        var rowAction = before is null
            ? new TableTransactionAction(TableTransactionActionType.Add, entity)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, RowVersion.IfMatch(after.Version));
        var write = await WriteRowAsync(rowAction, eventRow, IsSameWrite, cancellationToken).ConfigureAwait(false);
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
        var write = await WriteRowAsync(new TableTransactionAction(TableTransactionActionType.UpdateMerge, lease, RowVersion.IfMatch(leased.Version)), null, IsSameLease, cancellationToken).ConfigureAwait(false);
        return write.Outcome == WriteOutcome.Written ? new WriteResult(WriteOutcome.Written, leased.At(write.Version)) : WriteResult.Refused(write.Outcome);
    }

    private async Task<WriteResult> DeleteAsync(Connection connection, TableEntity? eventRow, CancellationToken cancellationToken)
    {
        try
        {
            var action = new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(connection.Id, RowKey), RowVersion.IfMatch(connection.Version));
            await SubmitAsync(action, eventRow, cancellationToken).ConfigureAwait(false);
            return new WriteResult(WriteOutcome.Written, connection);
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            // A 404 may be this delete's own earlier try, whose answer was lost: the caller treats "gone" as gone.
            return WriteResult.Refused(ex.Status == 412 ? WriteOutcome.Conflict : WriteOutcome.NotFound);
        }
    }

    /// <summary>
    /// Writes the row (and the change's event row with it, in one transaction); a write refused because the row changed or
    /// exists reads the row back: if it holds this very write (the SDK retried one whose answer was lost), it landed.
    /// </summary>
    private async Task<RowWrite> WriteRowAsync(TableTransactionAction rowAction, TableEntity? eventRow, Func<ITableEntity, TableEntity, bool> isOwnWrite, CancellationToken cancellationToken)
    {
        try
        {
            return new RowWrite(WriteOutcome.Written, await SubmitAsync(rowAction, eventRow, cancellationToken).ConfigureAwait(false));
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            var stored = await ReadAsync(rowAction.Entity.PartitionKey, cancellationToken).ConfigureAwait(false);
            return stored is null ? new RowWrite(WriteOutcome.NotFound, null)
                : isOwnWrite(rowAction.Entity, stored) ? new RowWrite(WriteOutcome.Written, stored.ETag.ToString())
                : new RowWrite(WriteOutcome.Conflict, null);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return new RowWrite(WriteOutcome.NotFound, null);
        }
    }

    /// <summary>One request: the row's operation alone, or with the event row as an entity-group transaction. Returns the row's new version.</summary>
    private async Task<string?> SubmitAsync(TableTransactionAction rowAction, TableEntity? eventRow, CancellationToken cancellationToken)
    {
        if (eventRow is not null)
        {
            var answers = await StorageFailures.GuardAsync(
                () => Table.SubmitTransactionAsync([rowAction, new TableTransactionAction(TableTransactionActionType.Add, eventRow)], cancellationToken),
                cancellationToken).ConfigureAwait(false);
            return answers.Value[0].Headers.ETag?.ToString();
        }

        var entity = (TableEntity)rowAction.Entity;
        var response = await StorageFailures.GuardAsync(
            () => rowAction.ActionType switch
            {
                TableTransactionActionType.Add => Table.AddEntityAsync(entity, cancellationToken),
                TableTransactionActionType.UpdateReplace => Table.UpdateEntityAsync(entity, rowAction.ETag, TableUpdateMode.Replace, cancellationToken),
                TableTransactionActionType.UpdateMerge => Table.UpdateEntityAsync(entity, rowAction.ETag, TableUpdateMode.Merge, cancellationToken),
                _ => Table.DeleteEntityAsync(entity.PartitionKey, entity.RowKey, rowAction.ETag, cancellationToken),
            },
            cancellationToken).ConfigureAwait(false);
        return response.Headers.ETag?.ToString();
    }

    // Every full write (and the unreadable report) carries its change's write id, the same however often it is written.
    private static bool IsSameWrite(ITableEntity written, TableEntity stored) =>
        written is TableEntity { } entity && entity.GetString("WriteId") is { Length: > 0 } writeId && writeId == stored.GetString("WriteId");

    private static bool IsSameLease(ITableEntity written, TableEntity stored) =>
        written is TableEntity entity && entity.GetString("LeaseOwner") == stored.GetString("LeaseOwner") && entity.GetDateTimeOffset("LeaseUntil") is { } until
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

    /// <summary>The fast path of event delivery; if it fails, the reminder written before the change brings the event a minute later.</summary>
    private async Task NotifyAsync(EventMessage message)
    {
        try
        {
            await outbox.NotifyAsync(message, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            Log.EventNotifyDeferred(logger, message.ConnectionId, ex.Status);
        }
    }

    private async Task<TableEntity?> ReadAsync(string connectionId, CancellationToken cancellationToken)
    {
        var response = await StorageFailures.GuardAsync(() => Table.GetEntityIfExistsAsync<TableEntity>(connectionId, RowKey, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    private readonly record struct RowWrite(WriteOutcome Outcome, string? Version);

    private TableEntity ToEntity(Connection c, string writeId) => !c.TokensReadable
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
        ["FailingSince"] = c.FailingSince,
        ["FailingReported"] = c.FailingReported,
        ["UnreadableReportedAt"] = c.UnreadableReportedAt,
        ["WriteId"] = writeId,
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
            FailingSince = e.GetDateTimeOffset("FailingSince"),
            FailingReported = e.GetBoolean("FailingReported") ?? false,
            UnreadableReportedAt = e.GetDateTimeOffset("UnreadableReportedAt"),
            Version = e.ETag.ToString(),
        };
    }
}
