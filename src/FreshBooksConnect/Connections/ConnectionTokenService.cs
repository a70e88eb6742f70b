using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Connections;

public enum TokenOutcome
{
    /// <summary><see cref="TokenResult.Connection"/> holds a token that works until its expiry.</summary>
    Issued,
    NotFound,

    /// <summary>The grant is gone; the customer has to consent again.</summary>
    NeedsReconsent,

    /// <summary>The stored tokens cannot be decrypted with the configured keys (see <see cref="Connection.TokensReadable"/>).</summary>
    Unreadable,

    /// <summary>A removal revoked the grant and did not finish deleting the connection; a DELETE finishes it.</summary>
    Removing,

    /// <summary>FreshBooks or storage is in trouble, or another instance is still renewing: try again after <see cref="TokenResult.RetryAfter"/>.</summary>
    Unavailable,
}

public sealed record TokenResult(TokenOutcome Outcome, Connection? Connection, TimeSpan? RetryAfter = null);

/// <summary>
/// Hands the SaaS backend (and the proxy) a working access token, renewing inline when needed, never two refreshes at once.
/// Current tokens are served from this instance's <see cref="ConnectionTokenCache"/> while it has them.
/// </summary>
public sealed class ConnectionTokenService(
    IConnectionRenewer renewer, ConnectionTokenCache cache, RenewalMetrics metrics, TimeProvider time, ILogger<ConnectionTokenService> logger)
{
    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>A valid token; refreshed first when it expires within the inline window.</summary>
    public Task<TokenResult> GetTokenAsync(string connectionId, CancellationToken cancellationToken) =>
        AnswerAsync(connectionId, RenewalReason.TokenRequest, fromCache: true, cancellationToken);

    /// <summary>
    /// FreshBooks answered 401 to <paramref name="rejectedAccessToken"/>: refresh only if it is still the stored token,
    /// otherwise hand out the newer one. A burst of 401s for one token causes one refresh.
    /// </summary>
    public Task<TokenResult> RefreshRejectedAsync(string connectionId, string rejectedAccessToken, CancellationToken cancellationToken)
    {
        // The rejected token may be the cached one (another instance refreshed since): never hand it out again.
        cache.Drop(connectionId);
        return AnswerAsync(connectionId, new RenewalReason.TokenRejected(rejectedAccessToken), fromCache: false, cancellationToken);
    }

    private async Task<TokenResult> AnswerAsync(string connectionId, RenewalReason reason, bool fromCache, CancellationToken cancellationToken)
    {
        using var span = ConnectTelemetry.StartSpan(ConnectTelemetry.TokenRequestSpan, connectionId);
        span?.SetTag(ConnectTelemetry.ReasonTag, RenewalMetrics.ReasonName(reason));
        var started = time.GetTimestamp();
        TokenResult answer;
        if (fromCache && cache.TryGet(connectionId, out var cached))
        {
            span?.SetTag(ConnectTelemetry.TokenCacheTag, "hit");
            Log.TokenIssued(logger, connectionId, TokenOutcome.Issued);
            answer = new TokenResult(TokenOutcome.Issued, cached);
        }
        else
        {
            answer = await AnswerCoreAsync(connectionId, reason, cancellationToken).ConfigureAwait(false);
        }

        span.SetOutcome(answer.Outcome);
        metrics.RecordTokenRequest(reason, answer.Outcome, time.GetElapsedTime(started));
        return answer;
    }

    private async Task<TokenResult> AnswerCoreAsync(string connectionId, RenewalReason reason, CancellationToken cancellationToken)
    {
        var stamp = cache.Stamp(connectionId);
        RenewalResult result;
        try
        {
            result = await renewer.RenewAsync(connectionId, reason, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            // Storage trouble: the caller can try again shortly; nothing was lost (a received pair is kept by the renewer).
            Log.TokenStorageUnavailable(logger, connectionId, ex.Status);
            return new TokenResult(TokenOutcome.Unavailable, null, DefaultRetryAfter);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller left, or this instance is stopping while the request waited on a lease or a refresh (which goes on
            // without it): either way, try again shortly, on this instance or another.
            return new TokenResult(TokenOutcome.Unavailable, null, DefaultRetryAfter);
        }

        var answer = result.Outcome switch
        {
            RenewalOutcome.NotFound => new TokenResult(TokenOutcome.NotFound, null),
            RenewalOutcome.NeedsReconsent => new TokenResult(TokenOutcome.NeedsReconsent, result.Connection),
            RenewalOutcome.Unreadable => new TokenResult(TokenOutcome.Unreadable, null),
            RenewalOutcome.Removing => new TokenResult(TokenOutcome.Removing, null),
            RenewalOutcome.Renewed or RenewalOutcome.Current => new TokenResult(TokenOutcome.Issued, result.Connection),

            // FreshBooks failed to refresh, so the stored token is untouched: still usable until it expires, unless it was rejected.
            // A busy connection's token is not: the renewal under way elsewhere may have killed it already.
            RenewalOutcome.Failed when result.Connection is { } c && c.AccessTokenExpiresAt > time.GetUtcNow() && reason is not RenewalReason.TokenRejected
                => new TokenResult(TokenOutcome.Issued, c),
            _ => new TokenResult(TokenOutcome.Unavailable, null, result.RetryAfter is { } after && after > DefaultRetryAfter ? after : DefaultRetryAfter),
        };
        if (answer is { Outcome: TokenOutcome.Issued, Connection: { } issued })
        {
            cache.Offer(issued, stamp);
        }

        Log.TokenIssued(logger, connectionId, answer.Outcome);
        return answer;
    }
}
