using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Connections;

public enum TokenOutcome
{
    /// <summary><see cref="TokenAnswer.Connection"/> holds a token that works until its expiry.</summary>
    Issued,
    NotFound,

    /// <summary>The grant is gone; the customer has to consent again.</summary>
    NeedsReconsent,

    /// <summary>The stored tokens cannot be decrypted with the configured keys (see <see cref="Connection.TokensReadable"/>).</summary>
    Unreadable,

    /// <summary>A removal revoked the grant and did not finish deleting the connection; a DELETE finishes it.</summary>
    Removing,

    /// <summary>FreshBooks or storage is in trouble, or another instance is still renewing: try again after <see cref="TokenAnswer.RetryAfter"/>.</summary>
    Unavailable,
}

public sealed record TokenAnswer(TokenOutcome Outcome, Connection? Connection, TimeSpan? RetryAfter = null);

/// <summary>Hands the SaaS backend a working access token, renewing inline when needed, never two refreshes at once.</summary>
public sealed class ConnectionTokenService(IConnectionRenewer renewer, TimeProvider time, ILogger<ConnectionTokenService> logger)
{
    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>A valid token; refreshed first when it expires within the inline window.</summary>
    public Task<TokenAnswer> GetTokenAsync(string connectionId, CancellationToken cancellationToken) =>
        AnswerAsync(connectionId, RenewalReason.TokenRequest, cancellationToken);

    /// <summary>
    /// FreshBooks answered 401 to <paramref name="rejectedAccessToken"/>: refresh only if it is still the stored token,
    /// otherwise hand out the newer one. A burst of 401s for one token causes one refresh.
    /// </summary>
    public Task<TokenAnswer> RefreshRejectedAsync(string connectionId, string rejectedAccessToken, CancellationToken cancellationToken) =>
        AnswerAsync(connectionId, new RenewalReason.TokenRejected(rejectedAccessToken), cancellationToken);

    private async Task<TokenAnswer> AnswerAsync(string connectionId, RenewalReason reason, CancellationToken cancellationToken)
    {
        RenewalResult result;
        try
        {
            result = await renewer.RenewAsync(connectionId, reason, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            // Storage trouble: the caller can try again shortly; nothing was lost (a received pair is kept by the renewer).
            Log.TokenStorageUnavailable(logger, connectionId, ex.Status);
            return new TokenAnswer(TokenOutcome.Unavailable, null, DefaultRetryAfter);
        }

        var answer = result.Outcome switch
        {
            RenewalOutcome.NotFound => new TokenAnswer(TokenOutcome.NotFound, null),
            RenewalOutcome.NeedsReconsent => new TokenAnswer(TokenOutcome.NeedsReconsent, result.Connection),
            RenewalOutcome.Unreadable => new TokenAnswer(TokenOutcome.Unreadable, null),
            RenewalOutcome.Removing => new TokenAnswer(TokenOutcome.Removing, null),
            RenewalOutcome.Renewed or RenewalOutcome.Current => new TokenAnswer(TokenOutcome.Issued, result.Connection),

            // FreshBooks failed to refresh, so the stored token is untouched: still usable until it expires, unless it was rejected.
            // A busy connection's token is not: the renewal under way elsewhere may have killed it already.
            RenewalOutcome.Failed when result.Connection is { } c && c.AccessTokenExpiresAt > time.GetUtcNow() && reason is not RenewalReason.TokenRejected
                => new TokenAnswer(TokenOutcome.Issued, c),
            _ => new TokenAnswer(TokenOutcome.Unavailable, null, result.RetryAfter is { } after && after > DefaultRetryAfter ? after : DefaultRetryAfter),
        };
        Log.TokenIssued(logger, connectionId, answer.Outcome);
        return answer;
    }
}
