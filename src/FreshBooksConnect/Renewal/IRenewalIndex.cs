namespace FreshBooksConnect.Renewal;

/// <summary>One entry of the renewal index: connection <see cref="ConnectionId"/> should be renewed at <see cref="RenewAt"/>.</summary>
public sealed record RenewalIndexEntry(string ConnectionId, DateTimeOffset RenewAt, DateTimeOffset? EnqueuedAt, string? Version);

/// <summary>
/// Keeps connections ordered by when they are due, so a sweep reads only the due ones: its cost follows the due count, not the
/// total. The connection row is the truth; an entry is a reminder, written in step with the row by the connection store, and a
/// stale one is dropped when its renewal finds nothing due.
/// </summary>
public interface IRenewalIndex
{
    /// <summary>Entries due at or before <paramref name="now"/>, oldest first.</summary>
    IAsyncEnumerable<RenewalIndexEntry> ReadDueAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Marks entries as handed to the queue, each only if it is unchanged since it was read; returns the ones marked here
    /// (the others were taken by another sweep or removed).
    /// </summary>
    Task<IReadOnlyList<RenewalIndexEntry>> MarkEnqueuedAsync(IReadOnlyList<RenewalIndexEntry> entries, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Drops an entry its connection no longer points at (renewed meanwhile, dead, deleted, unreadable).</summary>
    Task DropStaleAsync(string connectionId, DateTimeOffset renewAt, CancellationToken cancellationToken);
}

/// <summary>The writing side of the renewal index: only the connection store uses it, to keep the index in step with the rows.</summary>
internal interface IRenewalIndexWriter
{
    Task ScheduleAsync(string connectionId, DateTimeOffset renewAt, CancellationToken cancellationToken);

    Task RemoveAsync(string connectionId, DateTimeOffset renewAt, CancellationToken cancellationToken);
}
