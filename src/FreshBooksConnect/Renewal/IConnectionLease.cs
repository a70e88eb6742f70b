using FreshBooksConnect.Connections;

namespace FreshBooksConnect.Renewal;

public enum LeaseOutcome
{
    Acquired,

    /// <summary>Another owner holds an unexpired lease.</summary>
    Taken,

    /// <summary>The row changed since it was read; read it again and decide again.</summary>
    Changed,

    NotFound,
}

/// <summary>How a lease claim ended: the connection as leased (when acquired) or as found (when taken).</summary>
public sealed record LeaseResult(LeaseOutcome Outcome, Connection? Connection);

/// <summary>
/// Keeps two refreshes of one connection apart across instances: the lease is written into the row with the version it was read
/// with, so of two claimants exactly one wins.
/// </summary>
public interface IConnectionLease
{
    /// <summary>This instance's owner id.</summary>
    string Owner { get; }

    /// <summary>Claims <paramref name="connection"/> as read; on success returns it with the lease and its new version.</summary>
    Task<LeaseResult> AcquireAsync(Connection connection, CancellationToken cancellationToken);

    /// <summary>Reads the row until no other owner holds a lease on it, or the wait runs out (then returns it as last read).</summary>
    Task<Connection?> WaitForReleaseAsync(string connectionId, CancellationToken cancellationToken);

    /// <summary>True while the stored row still carries this owner's lease.</summary>
    Task<bool> IsStillHeldAsync(Connection leased, CancellationToken cancellationToken);
}
