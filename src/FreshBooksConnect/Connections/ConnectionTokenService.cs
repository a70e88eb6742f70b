using Azure;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Renewal;
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
        catch (RequestFailedException ex)
        {
            // Storage trouble: the caller can try again shortly; nothing was lost (a received pair is saved by the renewer).
            Log.TokenStorageUnavailable(logger, connectionId, ex.Status);
            return new TokenAnswer(TokenOutcome.Unavailable, null, DefaultRetryAfter);
        }

        var answer = result.Outcome switch
        {
            RenewalOutcome.NotFound => new TokenAnswer(TokenOutcome.NotFound, null),
            RenewalOutcome.NeedsReconsent => new TokenAnswer(TokenOutcome.NeedsReconsent, result.Connection),
            RenewalOutcome.Unreadable => new TokenAnswer(TokenOutcome.Unreadable, null),
            RenewalOutcome.Renewed or RenewalOutcome.Current => new TokenAnswer(TokenOutcome.Issued, result.Connection),

            // A failed or contended refresh still leaves a usable token when the old one has not expired and was not rejected.
            _ when result.Connection is { } c && c.AccessTokenExpiresAt > time.GetUtcNow() && reason is not RenewalReason.TokenRejected
                => new TokenAnswer(TokenOutcome.Issued, c),
            _ => new TokenAnswer(TokenOutcome.Unavailable, result.Connection, result.RetryAfter is { } after && after > DefaultRetryAfter ? after : DefaultRetryAfter),
        };
        Log.TokenIssued(logger, connectionId, answer.Outcome);
        return answer;
    }
}

public enum RemovalOutcome
{
    Removed,
    NotFound,

    /// <summary>FreshBooks could not revoke the grant now, or a renewal holds the connection; nothing was deleted.</summary>
    Unavailable,
}

/// <summary>Disconnects a customer: revokes the grant at FreshBooks, then deletes the row, under the lease so no renewal races it.</summary>
public sealed class ConnectionRemoval(IConnectionStore store, IConnectionLease lease, IFreshBooksClient freshBooks, IRenewalIndex index, ILogger<ConnectionRemoval> logger)
{
    public async Task<RemovalOutcome> RemoveAsync(string connectionId, CancellationToken cancellationToken)
    {
        var connection = await lease.WaitForReleaseAsync(connectionId, cancellationToken).ConfigureAwait(false);
        if (connection is null)
        {
            return RemovalOutcome.NotFound;
        }

        if (!connection.TokensReadable)
        {
            // Nothing to revoke with: the grant can't be read. Removing the row is all that is left to do.
            var removed = await store.DeleteAsync(connection, CancellationToken.None).ConfigureAwait(false);
            return removed.Written ? RemovalOutcome.Removed : RemovalOutcome.Unavailable;
        }

        var claim = await lease.AcquireAsync(connection, cancellationToken).ConfigureAwait(false);
        if (claim.Outcome == LeaseOutcome.NotFound)
        {
            return RemovalOutcome.NotFound;
        }

        if (claim.Outcome != LeaseOutcome.Acquired)
        {
            return RemovalOutcome.Unavailable;
        }

        var leased = claim.Connection!;
        if (leased.Status == ConnectionStatus.Active)
        {
            // The refresh token carries the grant; the access token dies at once with it. A grant FreshBooks already
            // forgot (invalid_grant and the like) needs no revoking.
            var revoked = await freshBooks.RevokeAsync(leased.RefreshToken, CancellationToken.None).ConfigureAwait(false);
            if (!revoked.IsSuccess && revoked.Outcome is FreshBooksOutcome.Transient or FreshBooksOutcome.InvalidClient)
            {
                await store.ReplaceAsync(leased with { LeaseOwner = null, LeaseUntil = null }, CancellationToken.None).ConfigureAwait(false);
                Log.RemovalFailed(logger, connectionId, revoked.Outcome);
                return RemovalOutcome.Unavailable;
            }

            await freshBooks.RevokeAsync(leased.AccessToken, CancellationToken.None).ConfigureAwait(false);
        }

        var deleted = await store.DeleteAsync(leased, CancellationToken.None).ConfigureAwait(false);
        if (deleted.Written && leased.NextRenewalAt is { } next)
        {
            await index.RemoveAsync(connectionId, next, CancellationToken.None).ConfigureAwait(false);
        }

        Log.ConnectionRemoved(logger, connectionId, deleted.Outcome);
        return deleted.Outcome switch
        {
            StoreWriteOutcome.Written => RemovalOutcome.Removed,
            StoreWriteOutcome.NotFound => RemovalOutcome.NotFound,
            _ => RemovalOutcome.Unavailable,
        };
    }
}
