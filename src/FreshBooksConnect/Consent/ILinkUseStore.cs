namespace FreshBooksConnect.Consent;

public enum LinkClaimOutcome
{
    /// <summary>This consent holds the link until it spends or releases it.</summary>
    Claimed,

    /// <summary>A completed consent already spent the link.</summary>
    Spent,

    /// <summary>Another consent holds the link right now.</summary>
    InUse,
}

/// <summary>
/// Which onboarding links a consent holds or has spent, by link id (never the link itself). A link completes one consent: a
/// callback claims its link before the code is exchanged, spends it once the connection is stored, and releases it otherwise, so
/// a declined or failed consent leaves the link usable. Every call names the link's expiry (its claims carry it): the record is
/// kept under it, so it is found with one read and purged with the expired consent states.
/// </summary>
public interface ILinkUseStore
{
    /// <summary>True when a completed consent spent this link.</summary>
    Task<bool> IsSpentAsync(string linkId, DateTimeOffset linkExpiresAt, CancellationToken cancellationToken);

    /// <summary>
    /// Claims the link for the consent whose state hash is <paramref name="stateHash"/>. A claim older than
    /// <paramref name="claimLifetime"/> that was never spent belongs to a callback that died, and is taken over. The record is kept
    /// until <paramref name="linkExpiresAt"/>, when the link is refused anyway.
    /// </summary>
    Task<LinkClaimOutcome> TryClaimAsync(string linkId, string stateHash, DateTimeOffset linkExpiresAt, DateTimeOffset now, TimeSpan claimLifetime, CancellationToken cancellationToken);

    /// <summary>Marks this consent's claim spent; false when the claim is no longer this consent's.</summary>
    Task<bool> MarkSpentAsync(string linkId, DateTimeOffset linkExpiresAt, string stateHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Gives back this consent's claim if it still holds it and did not spend it.</summary>
    Task ReleaseAsync(string linkId, DateTimeOffset linkExpiresAt, string stateHash, CancellationToken cancellationToken);
}
