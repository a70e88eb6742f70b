using FreshBooksConnect.Connections;

namespace FreshBooksConnect.Renewal;

/// <summary>Why a renewal is asked for; each decides differently whether a refresh is needed.</summary>
public abstract record RenewalReason
{
    private RenewalReason()
    {
    }

    /// <summary>The sweep found the connection due: refresh if its scheduled renewal time has come.</summary>
    public sealed record Scheduled : RenewalReason;

    /// <summary>Someone needs a token now: refresh if it expires within <see cref="RenewalOptions.InlineRefreshBefore"/>.</summary>
    public sealed record TokenNeeded : RenewalReason;

    /// <summary>FreshBooks answered 401 to this access token: refresh only if it is still the stored one.</summary>
    public sealed record TokenRejected(string AccessToken) : RenewalReason;

    public static RenewalReason Sweep { get; } = new Scheduled();

    public static RenewalReason TokenRequest { get; } = new TokenNeeded();
}

public enum RenewalOutcome
{
    /// <summary>A new pair was received and saved.</summary>
    Renewed,

    /// <summary>Nothing to do: the stored token is current for this reason.</summary>
    Current,

    /// <summary>Another instance holds the lease and is renewing it, or may still be saving the pair it received: try again shortly.</summary>
    Busy,

    /// <summary>FreshBooks no longer honours the grant; the connection now waits for a new consent.</summary>
    NeedsReconsent,

    /// <summary>FreshBooks or storage failed for now; the connection records it and a later sweep tries again.</summary>
    Failed,

    NotFound,

    /// <summary>A removal has revoked or is revoking the grant; nothing is served or renewed.</summary>
    Removing,

    /// <summary>The stored tokens cannot be decrypted with the configured keys; nothing was done.</summary>
    Unreadable,
}

/// <summary>The result of a renewal: the connection as stored afterwards (when there is one).</summary>
public sealed record RenewalResult(RenewalOutcome Outcome, Connection? Connection, TimeSpan? RetryAfter = null);

/// <summary>
/// Refreshes one connection's tokens. Only the holder of the connection's lease calls FreshBooks; in one process, concurrent
/// renewals of a connection share one refresh.
/// </summary>
public interface IConnectionRenewer
{
    Task<RenewalResult> RenewAsync(string connectionId, RenewalReason reason, CancellationToken cancellationToken);
}
