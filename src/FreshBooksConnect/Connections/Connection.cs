using Azure;
using FreshBooksConnect.FreshBooks;

namespace FreshBooksConnect.Connections;

public enum ConnectionStatus
{
    /// <summary>Tokens work or are being renewed.</summary>
    Active,

    /// <summary>FreshBooks no longer honours the grant; only a new consent through Start revives the connection.</summary>
    NeedsReconsent,

    /// <summary>A removal revokes the grant and deletes the row; nothing is served or renewed. A DELETE that stopped half-way leaves it here.</summary>
    Removing,
}

/// <summary>
/// One customer's FreshBooks connection as stored, tokens decrypted. <see cref="ETag"/> is the row version every write must match.
/// </summary>
public sealed record Connection
{
    public required string Id { get; init; }

    /// <summary>The SaaS tenant whose onboarding link made this connection; null for anonymous onboarding.</summary>
    public string? TenantId { get; init; }

    public required FreshBooksIdentity Identity { get; init; }

    public string Scopes { get; init; } = "";

    public required string AccessToken { get; init; }

    public required string RefreshToken { get; init; }

    public required DateTimeOffset AccessTokenExpiresAt { get; init; }

    /// <summary>Counts token pairs: each refresh or reconsent adds one, so a writer can tell whether the pair it spent is still the stored one.</summary>
    public long TokenGeneration { get; init; }

    public ConnectionStatus Status { get; init; } = ConnectionStatus.Active;

    public string? StatusReason { get; init; }

    public DateTimeOffset? StatusChangedAt { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }

    public DateTimeOffset? LastRenewedAt { get; init; }

    /// <summary>Renewal attempts that failed in a row; zero after a success.</summary>
    public int FailedAttempts { get; init; }

    public string? LastError { get; init; }

    public DateTimeOffset? LastErrorAt { get; init; }

    /// <summary>When the sweep should renew next; mirrored by an entry of the renewal index. Null when nothing is scheduled.</summary>
    public DateTimeOffset? NextRenewalAt { get; init; }

    /// <summary>The renewal lease: who may refresh this connection until <see cref="LeaseUntil"/>.</summary>
    public string? LeaseOwner { get; init; }

    public DateTimeOffset? LeaseUntil { get; init; }

    public ETag ETag { get; init; }

    /// <summary>
    /// False when the stored tokens cannot be decrypted with the configured keys (a key was removed, or a value was altered
    /// or copied from another row). Such a connection is listed but never refreshed, served or rewritten.
    /// </summary>
    public bool TokensReadable { get; init; } = true;

    /// <summary>True when someone other than <paramref name="owner"/> holds an unexpired lease.</summary>
    public bool IsLeasedByOther(string owner, DateTimeOffset now) =>
        LeaseOwner is not null && LeaseOwner != owner && LeaseUntil > now;

    /// <summary>
    /// True when another owner's lease ran out without being released less than <paramref name="saveTimeout"/> ago: its holder
    /// may have received a new pair (which killed the stored tokens) and still be trying to save it. Until then the stored pair
    /// is neither refreshed (it may be spent) nor handed out (it may be dead).
    /// </summary>
    public bool IsRenewalInDoubt(string owner, DateTimeOffset now, TimeSpan saveTimeout) =>
        LeaseOwner is not null && LeaseOwner != owner && LeaseUntil is { } until && until <= now && now < until + saveTimeout;
}

/// <summary>One page of connections and the token for the next page (null on the last page).</summary>
public sealed record ConnectionPage(IReadOnlyList<Connection> Connections, string? ContinuationToken);

public enum StoreWriteOutcome
{
    Written,

    /// <summary>The row changed since it was read (ETag mismatch, 412) or already exists (409).</summary>
    Conflict,

    NotFound,
}

/// <summary>The result of a guarded write: the new ETag when written.</summary>
public readonly record struct StoreWrite(StoreWriteOutcome Outcome, ETag ETag)
{
    public bool Written => Outcome == StoreWriteOutcome.Written;
}
