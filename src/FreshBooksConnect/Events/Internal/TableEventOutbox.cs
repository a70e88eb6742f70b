using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Events.Internal;

/// <summary>
/// Outbox rows live in the <c>connections</c> table, in their connection's partition (row key <c>~event-{ticks}-{id}</c>), so the
/// connection store writes them in one entity-group transaction with the state they describe. Reminders and delivery leases
/// live in the <c>events</c> table (partitions <c>due</c> and <c>delivering</c>); messages go on the <c>events</c> queue.
/// </summary>
internal sealed class TableEventOutbox(StorageClients storage) : IEventOutbox
{
    internal const string KeyPrefix = "~event-";
    private const string KeyEnd = "~event.";
    private const string DuePartition = "due";
    private const string LeasePartition = "delivering";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The outbox row of <paramref name="connectionEvent"/>, for the connection store's transaction.</summary>
    internal static TableEntity ToEntity(ConnectionEvent connectionEvent) => new(connectionEvent.Data.ConnectionId, Key(connectionEvent))
    {
        ["EventId"] = connectionEvent.Id,
        ["Type"] = connectionEvent.Type,
        ["OccurredAt"] = connectionEvent.Timestamp,
        ["Payload"] = connectionEvent.ToJson(),
        ["Attempts"] = 0,
    };

    private static string Key(ConnectionEvent connectionEvent) =>
        $"{KeyPrefix}{connectionEvent.Timestamp.UtcTicks.ToString("D19", CultureInfo.InvariantCulture)}-{connectionEvent.Id}";

    public async Task<string> RemindAsync(string connectionId, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        var key = $"{dueAt.UtcTicks.ToString("D19", CultureInfo.InvariantCulture)}_{connectionId}";
        var entity = new TableEntity(DuePartition, key) { ["ConnectionId"] = connectionId, ["DueAt"] = dueAt };
        await StorageFailures.GuardAsync(() => storage.Events.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken), cancellationToken).ConfigureAwait(false);
        return key;
    }

    // A lost answer makes the SDK send it again: a duplicate message finds the outbox empty or leased.
    public Task NotifyAsync(EventMessage message, TimeSpan delay, CancellationToken cancellationToken) =>
        StorageFailures.GuardAsync(
            () => storage.EventQueue.SendMessageAsync(JsonSerializer.Serialize(message, Json), delay > TimeSpan.Zero ? delay : null, cancellationToken: cancellationToken),
            cancellationToken);

    public async Task<IReadOnlyList<OutboxEvent>> ReadAsync(string connectionId, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {connectionId} and RowKey ge {KeyPrefix} and RowKey lt {KeyEnd}");
        var events = new List<OutboxEvent>();
        await foreach (var entity in storage.Connections.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).AsPages().Guarded(cancellationToken).ConfigureAwait(false))
        {
            foreach (var row in entity.Values)
            {
                if (ConnectionEvent.FromJson(row.GetString("Payload") ?? "null") is { } connectionEvent)
                {
                    events.Add(new OutboxEvent(
                        connectionEvent,
                        row.RowKey,
                        row.GetInt32("Attempts") ?? 0,
                        row.GetDateTimeOffset("FirstAttemptAt"),
                        row.GetDateTimeOffset("NextAttemptAt"),
                        row.GetString("FeedKey"),
                        row.GetString("LastError"),
                        row.ETag.ToString()));
                }
            }
        }

        return events;
    }

    public async Task AddAsync(ConnectionEvent connectionEvent, CancellationToken cancellationToken)
    {
        try
        {
            await StorageFailures.GuardAsync(() => storage.Connections.AddEntityAsync(ToEntity(connectionEvent), cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Already back in the outbox (an earlier try whose answer was lost).
        }
    }

    public async Task<string?> UpdateAsync(OutboxEvent outboxEvent, CancellationToken cancellationToken)
    {
        var entity = new TableEntity(outboxEvent.Event.Data.ConnectionId, outboxEvent.Key)
        {
            ["Attempts"] = outboxEvent.Attempts,
            ["FirstAttemptAt"] = outboxEvent.FirstAttemptAt,
            ["NextAttemptAt"] = outboxEvent.NextAttemptAt,
            ["FeedKey"] = outboxEvent.FeedKey,
            ["LastError"] = outboxEvent.LastError,
        };
        try
        {
            var response = await StorageFailures.GuardAsync(
                () => storage.Connections.UpdateEntityAsync(entity, RowVersion.IfMatch(outboxEvent.Version), TableUpdateMode.Merge, cancellationToken),
                cancellationToken).ConfigureAwait(false);
            return response.Headers.ETag?.ToString();
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return null;
        }
    }

    public async Task RemoveAsync(OutboxEvent outboxEvent, CancellationToken cancellationToken)
    {
        try
        {
            await StorageFailures.GuardAsync(() => storage.Connections.DeleteEntityAsync(outboxEvent.Event.Data.ConnectionId, outboxEvent.Key, ETag.All, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Removed already: by this delete's earlier try, or by another deliverer after the lease ran out.
        }
    }

    public async Task<bool> TryLeaseAsync(string connectionId, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var stored = await StorageFailures.GuardAsync(() => storage.Events.GetEntityIfExistsAsync<TableEntity>(LeasePartition, connectionId, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        var lease = new TableEntity(LeasePartition, connectionId) { ["Owner"] = owner, ["Until"] = until };
        try
        {
            if (stored is { HasValue: true, Value: { } row })
            {
                if (row.GetString("Owner") != owner && row.GetDateTimeOffset("Until") > now)
                {
                    return false;
                }

                await StorageFailures.GuardAsync(() => storage.Events.UpdateEntityAsync(lease, row.ETag, TableUpdateMode.Replace, cancellationToken), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await StorageFailures.GuardAsync(() => storage.Events.AddEntityAsync(lease, cancellationToken), cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            // Taken at the same moment by another deliverer, or this very write whose answer was lost: read it back.
            var reread = await StorageFailures.GuardAsync(() => storage.Events.GetEntityIfExistsAsync<TableEntity>(LeasePartition, connectionId, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
            return reread is { HasValue: true, Value: { } current } && current.GetString("Owner") == owner && current.GetDateTimeOffset("Until") == until;
        }
    }

    public async Task ReleaseAsync(string connectionId, string owner, CancellationToken cancellationToken)
    {
        var stored = await StorageFailures.GuardAsync(() => storage.Events.GetEntityIfExistsAsync<TableEntity>(LeasePartition, connectionId, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        if (stored is { HasValue: true, Value: { } row } && row.GetString("Owner") == owner)
        {
            try
            {
                await StorageFailures.GuardAsync(() => storage.Events.DeleteEntityAsync(LeasePartition, connectionId, row.ETag, cancellationToken), cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Taken over meanwhile (our lease had run out): the new owner releases it.
            }
        }
    }

    public async IAsyncEnumerable<EventReminder> ReadDueRemindersAsync(DateTimeOffset now, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var upper = now.AddTicks(1).UtcTicks.ToString("D19", CultureInfo.InvariantCulture);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {DuePartition} and RowKey lt {upper}");
        await foreach (var page in storage.Events.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).AsPages().Guarded(cancellationToken).ConfigureAwait(false))
        {
            foreach (var row in page.Values)
            {
                yield return new EventReminder(
                    row.GetString("ConnectionId") ?? row.RowKey[20..],
                    row.GetDateTimeOffset("DueAt") ?? now,
                    row.GetDateTimeOffset("EnqueuedAt"),
                    row.RowKey,
                    row.ETag.ToString());
            }
        }
    }

    public async Task<bool> MarkEnqueuedAsync(EventReminder reminder, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            var mark = new TableEntity(DuePartition, reminder.Key) { ["EnqueuedAt"] = now };
            await StorageFailures.GuardAsync(() => storage.Events.UpdateEntityAsync(mark, RowVersion.IfMatch(reminder.Version), TableUpdateMode.Merge, cancellationToken), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return false;
        }
    }

    public async Task RemoveReminderAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await StorageFailures.GuardAsync(() => storage.Events.DeleteEntityAsync(DuePartition, key, ETag.All, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Gone already: another deliverer finished this outbox.
        }
    }
}
