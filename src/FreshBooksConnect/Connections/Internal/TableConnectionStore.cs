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
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Connections.Internal;

/// <summary>
/// Connections as rows of the <c>connections</c> table: partition and row key = connection id, tokens encrypted per row. Each write
/// keeps the renewal index in step with the row it writes, and writes the event a change makes in the same entity-group transaction
/// as the row (the connection's partition is its outbox), with a reminder written first so a crash after it still delivers it.
/// Every write drops the connection from this instance's token cache.
/// </summary>
/// <remarks>
/// Rows written before issue 19 have the row key <see cref="LegacyRowKey"/>, shared by all of them, which made a point read walk
/// every row in Azurite (it looks a row up by the index of its row key). They are still read, and moved to the id as row key
/// (one transaction: add the copy, delete the old row if unchanged) when read while no renewal may be holding them; a leased one
/// is written where it is until then, so an instance of the previous version that holds its lease still finds it.
/// </remarks>
internal sealed class TableConnectionStore(
    StorageClients storage,
    ITokenProtector protector,
    IRenewalIndexWriter index,
    IEventOutbox outbox,
    ConnectionTokenCache tokenCache,
    RenewalMetrics metrics,
    IOptions<RenewalOptions> renewal,
    TimeProvider time,
    ILogger<TableConnectionStore> logger)
    : IConnectionStore
{
    /// <summary>The row key of every connection row written before issue 19.</summary>
    internal const string LegacyRowKey = "connection";

    /// <summary>Marks the version of a row still under <see cref="LegacyRowKey"/>, so its writes go there.</summary>
    private const string LegacyVersionPrefix = "legacy;";

    private const int MaxMoves = 3;

    /// <summary>How long the event delivery's fast path (a queue message right after the write) has before the reminder brings it.</summary>
    private static readonly TimeSpan EventRecoveryDelay = TimeSpan.FromMinutes(1);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The columns a listing reads: every one but the tokens (and what only a write needs).</summary>
    private static readonly string[] SummaryColumns =
    [
        "PartitionKey", "RowKey", "TenantId", "IdentityId", "IdentityUuid", "FirstName", "LastName", "Email", "Businesses", "Scopes",
        "AccessTokenExpiresAt", "Status", "StatusReason", "StatusChangedAt", "CreatedAt", "UpdatedAt", "LastRenewedAt", "NextRenewalAt",
        "FailedAttempts", "LastError", "LastErrorAt", "UnreadableReportedAt",
    ];
    private TableClient Table => storage.Connections;

    public async Task<Connection?> GetAsync(string connectionId, CancellationToken cancellationToken)
    {
        for (var read = 0; ; read++)
        {
            var entity = await ReadAsync(connectionId, cancellationToken).ConfigureAwait(false);
            if (entity is null)
            {
                return null;
            }

            if (IsLegacy(entity) && read < MaxMoves && IsFreeToMove(entity))
            {
                var moved = await TryMoveAsync(entity, cancellationToken).ConfigureAwait(false);
                if (moved is null)
                {
                    // Changed or moved by someone else meanwhile: read it again.
                    continue;
                }

                entity = moved;
            }

            var connection = FromEntity(entity);
            tokenCache.Seen(connection);
            return connection;
        }
    }

    public Task<ConnectionPage?> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken) =>
        ListPageAsync(null, (rows, next) => new ConnectionPage(rows.Select(FromEntity).ToList(), next), pageSize, continuationToken, cancellationToken);

    public Task<ConnectionSummaryPage?> ListSummariesAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken) =>
        ListPageAsync(SummaryColumns, (rows, next) => new ConnectionSummaryPage(rows.Select(SummaryOf).ToList(), next), pageSize, continuationToken, cancellationToken);

    /// <summary>One page of connection rows, with only <paramref name="columns"/> when given; null for a continuation token storage refuses.</summary>
    private async Task<TPage?> ListPageAsync<TPage>(
        IEnumerable<string>? columns, Func<IReadOnlyList<TableEntity>, string?, TPage> toPage, int pageSize, string? continuationToken, CancellationToken cancellationToken)
        where TPage : class
    {
        // The connection rows only, not the events waiting in their partitions: connection ids (and the legacy row key) start
        // with a letter or digit, outbox keys with '~'.
        var filter = TableClient.CreateQueryFilter($"RowKey lt {TableEventOutbox.KeyPrefix}");
        try
        {
            return await StorageFailures.GuardAsync(
                async () =>
                {
                    await foreach (var page in Table.QueryAsync<TableEntity>(filter, maxPerPage: pageSize, select: columns, cancellationToken: cancellationToken).AsPages(continuationToken, pageSize).ConfigureAwait(false))
                    {
                        return toPage(page.Values, page.ContinuationToken);
                    }

                    return toPage([], null);
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
        try
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
        finally
        {
            // Whatever the outcome (a write whose answer was lost may have landed), this instance no longer serves the token it
            // may have cached: the next request reads the row. A lease taken means a refresh is coming that will kill it.
            tokenCache.Drop(change.After.Id);
        }
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
                var report = new TableEntity(after.Id, RowKeyOf(after)) { ["UnreadableReportedAt"] = after.UnreadableReportedAt, ["WriteId"] = change.WriteId };
                var reported = await WriteRowAsync([new TableTransactionAction(TableTransactionActionType.UpdateMerge, report, IfMatch(after.Version))], eventRow, IsSameWrite, cancellationToken).ConfigureAwait(false);
                return reported.Outcome == WriteOutcome.Written ? new WriteResult(WriteOutcome.Written, after.At(reported.Version)) : WriteResult.Refused(reported.Outcome);
        }

        // The new entry is written before the row points at it (a row never points at a missing entry); the old one after.
        var scheduled = after.NextRenewalAt is { } next && next != before?.NextRenewalAt ? next : (DateTimeOffset?)null;
        if (scheduled is { } renewAt)
        {
            await index.ScheduleAsync(after.Id, renewAt, cancellationToken).ConfigureAwait(false);
        }

        var entity = ToEntity(after, change.WriteId);
        TableTransactionAction[] rowActions = before is null ? [new(TableTransactionActionType.Add, entity)]
            : IsLegacy(after.Version)
                ? [new(TableTransactionActionType.Add, entity), new(TableTransactionActionType.Delete, new TableEntity(after.Id, LegacyRowKey), IfMatch(after.Version))]
                : [new(TableTransactionActionType.UpdateReplace, entity, IfMatch(after.Version))];
        var write = await WriteRowAsync(rowActions, eventRow, IsSameWrite, cancellationToken).ConfigureAwait(false);
        if (write.Outcome == WriteOutcome.Written)
        {
            if (before?.NextRenewalAt is { } previous && previous != after.NextRenewalAt)
            {
                await RemoveEntryAsync(after.Id, previous).ConfigureAwait(false);
            }

            return new WriteResult(WriteOutcome.Written, after.At(write.Version) with { ProtectedBy = protector.CurrentKeyId, ProtectionCurrent = true });
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
        var lease = new TableEntity(leased.Id, RowKeyOf(leased)) { ["LeaseOwner"] = leased.LeaseOwner, ["LeaseUntil"] = leased.LeaseUntil };
        var write = await WriteRowAsync([new TableTransactionAction(TableTransactionActionType.UpdateMerge, lease, IfMatch(leased.Version))], null, IsSameLease, cancellationToken).ConfigureAwait(false);
        return write.Outcome == WriteOutcome.Written ? new WriteResult(WriteOutcome.Written, leased.At(write.Version)) : WriteResult.Refused(write.Outcome);
    }

    private async Task<WriteResult> DeleteAsync(Connection connection, TableEntity? eventRow, CancellationToken cancellationToken)
    {
        try
        {
            var action = new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(connection.Id, RowKeyOf(connection)), IfMatch(connection.Version));
            await SubmitAsync([action], eventRow, cancellationToken).ConfigureAwait(false);
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
    /// exists reads the row back: if it holds this very write (the SDK retried one whose answer was lost), it landed. The first
    /// of <paramref name="rowActions"/> writes the row; a second deletes the legacy row it moves from.
    /// </summary>
    private async Task<RowWrite> WriteRowAsync(TableTransactionAction[] rowActions, TableEntity? eventRow, Func<ITableEntity, TableEntity, bool> isOwnWrite, CancellationToken cancellationToken)
    {
        var rowAction = rowActions[0];
        try
        {
            return new RowWrite(WriteOutcome.Written, await SubmitAsync(rowActions, eventRow, cancellationToken).ConfigureAwait(false));
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412 || (ex.Status == 404 && rowActions.Length > 1))
        {
            // A move whose legacy row is gone was moved (or deleted) by someone else: what is stored now decides.
            var stored = await ReadAsync(rowAction.Entity.PartitionKey, cancellationToken).ConfigureAwait(false);
            return stored is null ? new RowWrite(WriteOutcome.NotFound, null)
                : isOwnWrite(rowAction.Entity, stored) ? new RowWrite(WriteOutcome.Written, VersionOf(stored))
                : new RowWrite(WriteOutcome.Conflict, null);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return new RowWrite(WriteOutcome.NotFound, null);
        }
    }

    /// <summary>
    /// One request: the row's operation alone, or with the legacy row's delete and the event row as an entity-group transaction
    /// (all in the connection's partition). Returns the row's new version.
    /// </summary>
    private async Task<string?> SubmitAsync(TableTransactionAction[] rowActions, TableEntity? eventRow, CancellationToken cancellationToken)
    {
        var rowAction = rowActions[0];
        if (eventRow is not null || rowActions.Length > 1)
        {
            var actions = eventRow is null ? rowActions : rowActions.Append(new TableTransactionAction(TableTransactionActionType.Add, eventRow)).ToArray();
            var answers = await StorageFailures.GuardAsync(() => Table.SubmitTransactionAsync(actions, cancellationToken), cancellationToken).ConfigureAwait(false);
            return VersionOf(rowAction.Entity, answers.Value[0].Headers.ETag);
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
        return VersionOf(entity, response.Headers.ETag);
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

    /// <summary>The connection's row: under its id, else (written before issue 19 and not moved yet) under <see cref="LegacyRowKey"/>.</summary>
    private async Task<TableEntity?> ReadAsync(string connectionId, CancellationToken cancellationToken) =>
        await ReadRowAsync(connectionId, connectionId, cancellationToken).ConfigureAwait(false)
        ?? (connectionId == LegacyRowKey ? null : await ReadRowAsync(connectionId, LegacyRowKey, cancellationToken).ConfigureAwait(false));

    private async Task<TableEntity?> ReadRowAsync(string connectionId, string rowKey, CancellationToken cancellationToken)
    {
        var response = await StorageFailures.GuardAsync(() => Table.GetEntityIfExistsAsync<TableEntity>(connectionId, rowKey, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>
    /// A legacy row may move once no renewal can be holding it: no lease, or one that ran out longer ago than a renewal's save
    /// may take (an instance of the previous version saving a pair there would otherwise lose it).
    /// </summary>
    private bool IsFreeToMove(TableEntity legacy) =>
        legacy.GetDateTimeOffset("LeaseUntil") is not { } until || until + renewal.Value.SaveTimeout <= time.GetUtcNow();

    /// <summary>Moves a legacy row to its id as row key, unchanged, if it is still as read; null when it changed or moved meanwhile.</summary>
    private async Task<TableEntity?> TryMoveAsync(TableEntity legacy, CancellationToken cancellationToken)
    {
        var copy = new TableEntity(legacy.PartitionKey, legacy.PartitionKey);
        foreach (var (key, value) in legacy)
        {
            if (key is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag") && !key.Contains("@odata", StringComparison.Ordinal))
            {
                copy[key] = value;
            }
        }

        try
        {
            TableTransactionAction[] move = [new(TableTransactionActionType.Add, copy), new(TableTransactionActionType.Delete, new TableEntity(legacy.PartitionKey, LegacyRowKey), legacy.ETag)];
            var answers = await StorageFailures.GuardAsync(() => Table.SubmitTransactionAsync(move, cancellationToken), cancellationToken).ConfigureAwait(false);
            copy.ETag = answers.Value[0].Headers.ETag ?? default;
            Log.ConnectionRowMoved(logger, legacy.PartitionKey);
            return copy;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 409 or 412)
        {
            return null;
        }
    }

    /// <summary>A connection's row in either layout, as opposed to an event waiting in the connection's partition.</summary>
    internal static bool IsConnectionRow(ITableEntity row) => row.RowKey == row.PartitionKey || row.RowKey == LegacyRowKey;

    private static bool IsLegacy(ITableEntity row) => row.RowKey == LegacyRowKey && row.PartitionKey != LegacyRowKey;

    private static bool IsLegacy(string? version) => version?.StartsWith(LegacyVersionPrefix, StringComparison.Ordinal) == true;

    private static string RowKeyOf(Connection connection) => IsLegacy(connection.Version) ? LegacyRowKey : connection.Id;

    private static ETag IfMatch(string? version) => RowVersion.IfMatch(IsLegacy(version) ? version![LegacyVersionPrefix.Length..] : version);

    private static string? VersionOf(TableEntity row) => VersionOf(row, row.ETag);

    private static string? VersionOf(ITableEntity row, ETag? etag) =>
        etag is not { } tag ? null : IsLegacy(row) ? LegacyVersionPrefix + tag : tag.ToString();

    private readonly record struct RowWrite(WriteOutcome Outcome, string? Version);

    private TableEntity ToEntity(Connection c, string writeId) => !c.TokensReadable
        ? throw new InvalidOperationException($"Connection '{c.Id}' has tokens that cannot be decrypted; writing it would destroy them.")
        : new(c.Id, c.Id)
    {
        ["TenantId"] = c.TenantId,
        ["IdentityId"] = c.Identity.Id,
        ["IdentityUuid"] = c.Identity.IdentityUuid,
        ["FirstName"] = c.Identity.FirstName,
        ["LastName"] = c.Identity.LastName,
        ["Email"] = c.Identity.Email,
        ["Businesses"] = JsonSerializer.Serialize(c.Identity.Businesses, Json),
        ["Scopes"] = c.Scopes,
        ["AccessToken"] = protector.Protect(c.AccessToken, new TokenBinding(c.Id, TokenField.AccessToken, c.TokenGeneration)),
        ["RefreshToken"] = protector.Protect(c.RefreshToken, new TokenBinding(c.Id, TokenField.RefreshToken, c.TokenGeneration)),
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
        var (storedAccess, storedRefresh) = (e.GetString("AccessToken") ?? "", e.GetString("RefreshToken") ?? "");
        var generation = e.GetInt64("TokenGeneration") ?? 0;
        var readable = protector.TryUnprotect(storedAccess, new TokenBinding(id, TokenField.AccessToken, generation), out var accessToken)
            & protector.TryUnprotect(storedRefresh, new TokenBinding(id, TokenField.RefreshToken, generation), out var refreshToken);
        var (accessKey, refreshKey) = (protector.KeyIdOf(storedAccess), protector.KeyIdOf(storedRefresh));
        return new Connection
        {
            Id = id,
            TenantId = e.GetString("TenantId"),
            Identity = IdentityOf(e),
            Scopes = e.GetString("Scopes") ?? "",
            AccessToken = readable ? accessToken : "",
            RefreshToken = readable ? refreshToken : "",
            TokensReadable = readable,
            ProtectedBy = refreshKey == protector.CurrentKeyId ? accessKey : refreshKey,
            ProtectionCurrent = protector.IsCurrent(storedAccess) && protector.IsCurrent(storedRefresh),
            AccessTokenExpiresAt = e.GetDateTimeOffset("AccessTokenExpiresAt") ?? DateTimeOffset.MinValue,
            TokenGeneration = generation,
            Status = StatusOf(e),
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
            Version = VersionOf(e),
        };
    }

    /// <summary>A listing's view of a row read with <see cref="SummaryColumns"/>: no token is decrypted (none was read).</summary>
    private static ConnectionSummary SummaryOf(TableEntity e) => new(
        e.PartitionKey,
        e.GetString("TenantId"),
        IdentityOf(e),
        e.GetString("Scopes") ?? "",
        e.GetDateTimeOffset("AccessTokenExpiresAt") ?? DateTimeOffset.MinValue,
        StatusOf(e),
        e.GetString("StatusReason"),
        e.GetDateTimeOffset("StatusChangedAt"),
        e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
        e.GetDateTimeOffset("UpdatedAt") ?? DateTimeOffset.MinValue,
        e.GetDateTimeOffset("LastRenewedAt"),
        e.GetDateTimeOffset("NextRenewalAt"),
        e.GetInt32("FailedAttempts") ?? 0,
        e.GetString("LastError"),
        e.GetDateTimeOffset("LastErrorAt"),
        TokensReadable: e.GetDateTimeOffset("UnreadableReportedAt") is null);

    private static FreshBooksIdentity IdentityOf(TableEntity e) => new(
        e.GetInt64("IdentityId") ?? 0,
        e.GetString("IdentityUuid"),
        e.GetString("FirstName"),
        e.GetString("LastName"),
        e.GetString("Email"),
        JsonSerializer.Deserialize<List<BusinessMembership>>(e.GetString("Businesses") ?? "[]", Json) ?? []);

    private static ConnectionStatus StatusOf(TableEntity e) => Enum.TryParse<ConnectionStatus>(e.GetString("Status"), out var status) ? status : ConnectionStatus.Active;
}
