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

    /// <summary>Its tokens can't be decrypted, and that was reported.</summary>
    UnreadableReported,

    /// <summary>Its tokens were encrypted again under the current key (a key rotation); nothing else changed.</summary>
    Reencrypted,
}

/// <summary>
/// One change of a connection's state, as <see cref="IConnectionStore.WriteAsync"/> writes it: <see cref="After"/> replaces
/// <see cref="Before"/> (null for a new connection) if the row still has <see cref="Before"/>'s version. <see cref="WriteId"/>
/// stays the same however often the change is written again, so a write that landed unseen is recognised, and its event
/// (<see cref="EventType"/>) has one id.
/// </summary>
public sealed record ConnectionChange(ConnectionChangeKind Kind, Connection? Before, Connection After)
{
    public string WriteId { get; init; } = Guid.NewGuid().ToString("N");

    /// <summary>When the change happened: its event's time.</summary>
    public DateTimeOffset OccurredAt { get; init; } = After.UpdatedAt;

    /// <summary>The event this change makes (one of <see cref="Events.ConnectionEventTypes"/>), or null for none.</summary>
    public string? EventType => Kind switch
    {
        ConnectionChangeKind.Consented when Before is null => Events.ConnectionEventTypes.Created,
        ConnectionChangeKind.Consented when Before.Identity.Id != After.Identity.Id => Events.ConnectionEventTypes.IdentityChanged,
        ConnectionChangeKind.Consented when Before.Status == ConnectionStatus.NeedsReconsent || Before.FailingReported => Events.ConnectionEventTypes.Recovered,
        ConnectionChangeKind.Consented => Events.ConnectionEventTypes.Reconnected,
        ConnectionChangeKind.Renewed when Before is { FailingReported: true } or { Status: ConnectionStatus.NeedsReconsent } => Events.ConnectionEventTypes.Recovered,
        ConnectionChangeKind.RenewalFailed when After.FailingReported && Before is { FailingReported: false } => Events.ConnectionEventTypes.RenewalFailing,
        ConnectionChangeKind.NeedsReconsent when Before is { Status: not ConnectionStatus.NeedsReconsent } => Events.ConnectionEventTypes.NeedsReconsent,
        ConnectionChangeKind.Removed => Events.ConnectionEventTypes.Deleted,
        ConnectionChangeKind.UnreadableReported => Events.ConnectionEventTypes.Unreadable,
        _ => null,
    };

    /// <summary>
    /// The same change written over <paramref name="current"/> instead: for a writer that re-read the row after a conflict and
    /// decided its change still stands (the row holds the pair its renewal spent).
    /// </summary>
    public ConnectionChange Over(Connection current) => this with { Before = current, After = After.At(current.Version) };
}
