namespace FreshBooksConnect.Connections;

/// <summary>The named state changes of a connection; each is made by one method of <see cref="Connection"/>.</summary>
public enum ConnectionChangeKind
{
    /// <summary>A consent stored a new grant: a new connection, or an existing one reconnected.</summary>
    Consented,

    /// <summary>A renewal (or a removal) took the lease.</summary>
    Leased,

    /// <summary>FreshBooks issued a new pair for the stored refresh token.</summary>
    Renewed,

    /// <summary>A renewal failed for now; it is tried again later.</summary>
    RenewalFailed,

    /// <summary>FreshBooks refused the grant; the customer has to consent again.</summary>
    NeedsReconsent,

    /// <summary>A removal began: nothing is served or renewed from here on.</summary>
    RemovalStarted,

    /// <summary>A removal could not revoke the grant and gave the connection back as it was.</summary>
    RemovalWithdrawn,

    /// <summary>The connection was deleted.</summary>
    Removed,
}

/// <summary>
/// One change of a connection's state, as <see cref="IConnectionStore.WriteAsync"/> writes it: <see cref="After"/> replaces
/// <see cref="Before"/> (null for a new connection) if the row still has <see cref="Before"/>'s version.
/// </summary>
public sealed record ConnectionChange(ConnectionChangeKind Kind, Connection? Before, Connection After)
{
    /// <summary>
    /// The same change written over <paramref name="current"/> instead: for a writer that re-read the row after a conflict and
    /// decided its change still stands (the row holds the pair its renewal spent).
    /// </summary>
    public ConnectionChange Over(Connection current) => this with { Before = current, After = After.At(current.Version) };
}
