using System.Diagnostics.CodeAnalysis;

namespace FreshBooksConnect.Connections;

/// <summary>
/// Stores connections. Every change is written by <see cref="WriteAsync"/>, guarded by the row's version, and keeps the renewal
/// index in step with the row; a conflict is an outcome, not an exception. Storage that is unavailable surfaces as
/// <see cref="Storage.StorageUnavailableException"/>.
/// </summary>
public interface IConnectionStore
{
    Task<Connection?> GetAsync(string connectionId, CancellationToken cancellationToken);

    /// <summary>A page of connections; null when <paramref name="continuationToken"/> is not one this store handed out.</summary>
    Task<ConnectionPage?> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken);

    /// <summary>
    /// A page of connections as <see cref="ListAsync"/> pages them, without their tokens: the token columns are not even read.
    /// Null when <paramref name="continuationToken"/> is not one this store handed out.
    /// </summary>
    Task<ConnectionSummaryPage?> ListSummariesAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="change"/> if the row still has <see cref="ConnectionChange.Before"/>'s version (or, for a new
    /// connection, does not exist yet). The renewal index follows: the entry for the new <see cref="Connection.NextRenewalAt"/>
    /// is written before the row points at it, the old one removed after.
    /// </summary>
    Task<WriteResult> WriteAsync(ConnectionChange change, CancellationToken cancellationToken);
}

public enum WriteOutcome
{
    Written,

    /// <summary>The row changed since it was read, or (for a new connection) already exists.</summary>
    Conflict,

    NotFound,
}

/// <summary>The result of a guarded write: the connection as stored (with its new version) when written.</summary>
public sealed record WriteResult(WriteOutcome Outcome, Connection? Stored)
{
    [MemberNotNullWhen(true, nameof(Stored))]
    public bool Written => Outcome == WriteOutcome.Written;

    public static WriteResult Refused(WriteOutcome outcome) => new(outcome, null);
}
