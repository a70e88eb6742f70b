using System.Security.Cryptography;
using System.Text;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Renewal;

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
/// One customer's FreshBooks connection as stored, tokens decrypted. <see cref="Version"/> is the row version every write must match.
/// Every change of state is one named method here that returns the <see cref="ConnectionChange"/> to write; the decisions that
/// choose between them (is a renewal needed, is the lease someone else's) sit beside them.
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

    /// <summary>When the current run of failed renewals began; null while renewals succeed.</summary>
    public DateTimeOffset? FailingSince { get; init; }

    /// <summary>Whether the current run of failures was reported (<c>connection.renewal_failing</c>); a recovery is reported after it.</summary>
    public bool FailingReported { get; init; }

    /// <summary>When <c>connection.unreadable</c> was reported for tokens that can't be decrypted; null if never.</summary>
    public DateTimeOffset? UnreadableReportedAt { get; init; }

    /// <summary>When the sweep should renew next; mirrored by an entry of the renewal index. Null when nothing is scheduled.</summary>
    public DateTimeOffset? NextRenewalAt { get; init; }

    /// <summary>The renewal lease: who may refresh this connection until <see cref="LeaseUntil"/>.</summary>
    public string? LeaseOwner { get; init; }

    public DateTimeOffset? LeaseUntil { get; init; }

    /// <summary>The stored row's version, opaque: a write succeeds only while the row still has it. Null for a connection never stored.</summary>
    public string? Version { get; init; }

    /// <summary>
    /// False when the stored tokens cannot be decrypted with the configured keys (a key was removed, or a value was altered
    /// or copied from another row). Such a connection is listed but never refreshed, served or rewritten.
    /// </summary>
    public bool TokensReadable { get; init; } = true;

    /// <summary>
    /// The id of the key the stored tokens are encrypted with (of the two tokens, the one not under the current key, should they
    /// differ); null for a connection never stored. A rotation is done when no connection names the old key here.
    /// </summary>
    public string? ProtectedBy { get; init; }

    /// <summary>
    /// False when a stored token is under an older key, or in the ciphertext format before issue 17 (bound to the connection id
    /// only, not to its column and token generation): the re-encryption pass writes it again, as does any write of the row.
    /// </summary>
    public bool ProtectionCurrent { get; init; } = true;

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

    /// <summary>Whether <paramref name="reason"/> calls for a refresh now.</summary>
    public bool NeedsRenewal(RenewalReason reason, DateTimeOffset now, TimeSpan inlineRefreshBefore) => reason switch
    {
        RenewalReason.Scheduled => NextRenewalAt is null || NextRenewalAt <= now || AccessTokenExpiresAt <= now + inlineRefreshBefore,
        RenewalReason.TokenNeeded => AccessTokenExpiresAt <= now + inlineRefreshBefore,

        // Only while the rejected token is still the stored one: a burst of 401s for one token causes one refresh.
        RenewalReason.TokenRejected rejected => CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(rejected.AccessToken), Encoding.UTF8.GetBytes(AccessToken)),
        _ => throw new ArgumentOutOfRangeException(nameof(reason)),
    };

    /// <summary>
    /// A consent stored <paramref name="grant"/> for <paramref name="identity"/>: a new connection, or (for a returning tenant or
    /// identity) <paramref name="existing"/> with the new grant, active again, one token generation on.
    /// </summary>
    public static ConnectionChange Consented(
        string id, string? tenantId, FreshBooksIdentity identity, TokenGrant grant, DateTimeOffset now, DateTimeOffset nextRenewalAt, Connection? existing) =>
        new(ConnectionChangeKind.Consented, existing, new Connection
        {
            Id = id,
            TenantId = tenantId,
            Identity = identity,
            Scopes = grant.Scope,
            AccessToken = grant.AccessToken,
            RefreshToken = grant.RefreshToken,
            AccessTokenExpiresAt = grant.AccessTokenExpiresAt,
            TokenGeneration = (existing?.TokenGeneration ?? 0) + 1,
            Status = ConnectionStatus.Active,
            StatusChangedAt = existing is null || existing.Status != ConnectionStatus.Active ? now : existing.StatusChangedAt,
            CreatedAt = existing?.CreatedAt ?? now,
            UpdatedAt = now,
            LastRenewedAt = existing?.LastRenewedAt,
            NextRenewalAt = nextRenewalAt,
            Version = existing?.Version,
        }) { OccurredAt = now };

    /// <summary><paramref name="owner"/> may refresh this connection until <paramref name="until"/>; no one else may meanwhile.</summary>
    public ConnectionChange Leased(string owner, DateTimeOffset until, DateTimeOffset now) =>
        new(ConnectionChangeKind.Leased, this, this with { LeaseOwner = owner, LeaseUntil = until }) { OccurredAt = now };

    /// <summary>FreshBooks issued <paramref name="grant"/> for this connection's refresh token: the new pair, lease released.</summary>
    public ConnectionChange Renewed(TokenGrant grant, DateTimeOffset now, DateTimeOffset nextRenewalAt) =>
        new(ConnectionChangeKind.Renewed, this, this with
        {
            AccessToken = grant.AccessToken,
            RefreshToken = grant.RefreshToken,
            Scopes = string.IsNullOrEmpty(grant.Scope) ? Scopes : grant.Scope,
            AccessTokenExpiresAt = grant.AccessTokenExpiresAt,
            TokenGeneration = TokenGeneration + 1,
            Status = ConnectionStatus.Active,
            StatusReason = null,
            StatusChangedAt = Status == ConnectionStatus.Active ? StatusChangedAt : now,
            UpdatedAt = now,
            LastRenewedAt = now,
            FailedAttempts = 0,
            FailingSince = null,
            FailingReported = false,
            NextRenewalAt = nextRenewalAt,
            LeaseOwner = null,
            LeaseUntil = null,
        }) { OccurredAt = now };

    /// <summary>
    /// A renewal failed for now (FreshBooks unreachable, 5xx, 429, an unreadable answer): try again at <paramref name="retryAt"/>.
    /// Failing for <paramref name="reportAfter"/>, or with the access token expired, is reported once.
    /// </summary>
    public ConnectionChange RenewalFailed(string error, DateTimeOffset now, DateTimeOffset retryAt, TimeSpan reportAfter) =>
        new(ConnectionChangeKind.RenewalFailed, this, this with
        {
            FailedAttempts = FailedAttempts + 1,
            FailingSince = FailingSince ?? now,
            FailingReported = FailingReported || now - (FailingSince ?? now) >= reportAfter || AccessTokenExpiresAt <= now,
            LastError = error,
            LastErrorAt = now,
            UpdatedAt = now,
            NextRenewalAt = retryAt,
            LeaseOwner = null,
            LeaseUntil = null,
        }) { OccurredAt = now };

    /// <summary>FreshBooks refused the grant (<c>invalid_grant</c>): nothing is renewed until the customer consents again.</summary>
    public ConnectionChange NeedsReconsent(string reason, DateTimeOffset now) =>
        new(ConnectionChangeKind.NeedsReconsent, this, this with
        {
            Status = ConnectionStatus.NeedsReconsent,
            StatusReason = reason,
            StatusChangedAt = now,
            UpdatedAt = now,
            LastError = reason,
            LastErrorAt = now,
            NextRenewalAt = null,
            LeaseOwner = null,
            LeaseUntil = null,
        }) { OccurredAt = now };

    /// <summary>A removal begins: from now on nothing is served or renewed, whatever happens to the grant.</summary>
    public ConnectionChange RemovalStarted(string owner, DateTimeOffset until, DateTimeOffset now) =>
        new(ConnectionChangeKind.RemovalStarted, this, this with
        {
            Status = ConnectionStatus.Removing,
            StatusChangedAt = now,
            UpdatedAt = now,
            LeaseOwner = owner,
            LeaseUntil = until,
        }) { OccurredAt = now };

    /// <summary>A removal that could not revoke the grant gives the connection back as it was before <see cref="RemovalStarted"/>.</summary>
    public ConnectionChange RemovalWithdrawn(Connection before, DateTimeOffset now) =>
        new(ConnectionChangeKind.RemovalWithdrawn, this, before with { Version = Version }) { OccurredAt = now };

    /// <summary>The connection is gone: its row and its renewal index entry.</summary>
    public ConnectionChange Removed(DateTimeOffset now) => new(ConnectionChangeKind.Removed, this, this) { OccurredAt = now };

    /// <summary>Tokens that can't be decrypted were reported; nothing else of the row is rewritten (that would destroy them).</summary>
    public ConnectionChange UnreadableReported(DateTimeOffset now) =>
        new(ConnectionChangeKind.UnreadableReported, this, this with { UnreadableReportedAt = now }) { OccurredAt = now };

    /// <summary>
    /// The same connection, its tokens written again under the current key: a key rotation moving rows off the old key. Nothing
    /// else changes, so it makes no event and leaves the renewal schedule as it is.
    /// </summary>
    public ConnectionChange Reencrypted(DateTimeOffset now) => new(ConnectionChangeKind.Reencrypted, this, this) { OccurredAt = now };

    /// <summary>What this connection shows of itself without its tokens.</summary>
    public ConnectionSummary Summary() => new(
        Id, TenantId, Identity, Scopes, AccessTokenExpiresAt, Status, StatusReason, StatusChangedAt, CreatedAt, UpdatedAt, LastRenewedAt,
        NextRenewalAt, FailedAttempts, LastError, LastErrorAt, TokensReadable);

    /// <summary>This connection as stored at <paramref name="version"/>: what a store hands back after a write.</summary>
    internal Connection At(string? version) => this with { Version = version };
}

/// <summary>One page of connections and the token for the next page (null on the last page).</summary>
public sealed record ConnectionPage(IReadOnlyList<Connection> Connections, string? ContinuationToken);

/// <summary>One page of connection summaries and the token for the next page (null on the last page).</summary>
public sealed record ConnectionSummaryPage(IReadOnlyList<ConnectionSummary> Connections, string? ContinuationToken);
