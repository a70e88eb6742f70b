namespace FreshBooksConnect.Connections;

/// <summary>Stores connections. Every update and delete is guarded by the row's ETag; a conflict is an outcome, not an exception.</summary>
public interface IConnectionStore
{
    Task<Connection?> GetAsync(string connectionId, CancellationToken cancellationToken);

    Task<ConnectionPage> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken);

    /// <summary>Adds a new connection; <see cref="StoreWriteOutcome.Conflict"/> if the id is taken.</summary>
    Task<StoreWrite> AddAsync(Connection connection, CancellationToken cancellationToken);

    /// <summary>Replaces the row if it still has <see cref="Connection.ETag"/>.</summary>
    Task<StoreWrite> ReplaceAsync(Connection connection, CancellationToken cancellationToken);

    /// <summary>
    /// Writes only the lease of <paramref name="connection"/> (<see cref="Connection.LeaseOwner"/>, <see cref="Connection.LeaseUntil"/>)
    /// if the row still has <see cref="Connection.ETag"/>: the rest of the row, tokens included, is left as it is.
    /// </summary>
    Task<StoreWrite> WriteLeaseAsync(Connection connection, CancellationToken cancellationToken);

    /// <summary>Deletes the row if it still has <see cref="Connection.ETag"/>.</summary>
    Task<StoreWrite> DeleteAsync(Connection connection, CancellationToken cancellationToken);
}
