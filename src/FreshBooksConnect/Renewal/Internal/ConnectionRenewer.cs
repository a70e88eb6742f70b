using System.Security.Cryptography;
using System.Text;
using Azure;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.FreshBooks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Renewal.Internal;

internal sealed class ConnectionRenewer(
    IConnectionStore store,
    IConnectionLease lease,
    InFlightRenewals inFlight,
    IFreshBooksClient freshBooks,
    IRenewalIndex index,
    RenewalSchedule schedule,
    RenewalMetrics metrics,
    TimeProvider time,
    IOptions<RenewalOptions> options,
    ILogger<ConnectionRenewer> logger) : IConnectionRenewer
{
    private const int MaxRereads = 5;
    private readonly RenewalOptions _options = options.Value;

    public async Task<RenewalResult> RenewAsync(string connectionId, RenewalReason reason, CancellationToken cancellationToken)
    {
        for (var read = 0; read < MaxRereads; read++)
        {
            var connection = await store.GetAsync(connectionId, cancellationToken).ConfigureAwait(false);
            if (connection is null)
            {
                return new RenewalResult(RenewalOutcome.NotFound, null);
            }

            if (!connection.TokensReadable)
            {
                Log.TokensUnreadable(logger, connectionId);
                return new RenewalResult(RenewalOutcome.Unreadable, connection);
            }

            if (connection.Status == ConnectionStatus.NeedsReconsent)
            {
                return new RenewalResult(RenewalOutcome.NeedsReconsent, connection);
            }

            if (!IsNeeded(connection, reason))
            {
                return new RenewalResult(RenewalOutcome.Current, connection);
            }

            if (connection.IsLeasedByOther(lease.Owner, time.GetUtcNow()))
            {
                if (reason is RenewalReason.Scheduled)
                {
                    return new RenewalResult(RenewalOutcome.Busy, connection);
                }

                // Someone needs a token: wait for the other instance's refresh rather than start a second one.
                var released = await lease.WaitForReleaseAsync(connectionId, cancellationToken).ConfigureAwait(false);
                if (released is not null && released.IsLeasedByOther(lease.Owner, time.GetUtcNow()))
                {
                    return new RenewalResult(RenewalOutcome.Busy, released, _options.LeaseWaitInterval);
                }

                continue;
            }

            // One refresh per connection per process: later callers share it. It runs without the callers' cancellation,
            // because a pair FreshBooks has issued must be saved whoever stopped waiting for it.
            var result = await inFlight.JoinOrStartAsync(connectionId, () => RefreshUnderLeaseAsync(connection), cancellationToken).ConfigureAwait(false);
            if (result is not null)
            {
                return result;
            }

            // The row changed under us (another instance leased or renewed it): read again and decide again.
        }

        return new RenewalResult(RenewalOutcome.Busy, null, _options.LeaseWaitInterval);
    }

    private bool IsNeeded(Connection connection, RenewalReason reason)
    {
        var now = time.GetUtcNow();
        return reason switch
        {
            RenewalReason.Scheduled => connection.NextRenewalAt is null || connection.NextRenewalAt <= now || connection.AccessTokenExpiresAt <= now + _options.InlineRefreshBefore,
            RenewalReason.TokenNeeded => connection.AccessTokenExpiresAt <= now + _options.InlineRefreshBefore,
            RenewalReason.TokenRejected rejected => FixedTimeEquals(rejected.AccessToken, connection.AccessToken),
            _ => throw new ArgumentOutOfRangeException(nameof(reason)),
        };
    }

    /// <returns>The result, or null when the row changed before the lease was taken, or the lease was lost before a pair arrived.</returns>
    private async Task<RenewalResult?> RefreshUnderLeaseAsync(Connection connection)
    {
        // Hand the task out at once, so callers joining meanwhile wait on it rather than block on the Lazy.
        await Task.Yield();
        var claim = await lease.AcquireAsync(connection, CancellationToken.None).ConfigureAwait(false);
        switch (claim.Outcome)
        {
            case LeaseOutcome.NotFound:
                return new RenewalResult(RenewalOutcome.NotFound, null);
            case LeaseOutcome.Taken:
                return new RenewalResult(RenewalOutcome.Busy, claim.Connection, _options.LeaseWaitInterval);
            case LeaseOutcome.Changed:
                return null;
        }

        var leased = claim.Connection!;
        FreshBooksResult<TokenGrant> answer;
        for (var attempt = 1; ; attempt++)
        {
            answer = await freshBooks.RefreshAsync(leased.RefreshToken, CancellationToken.None).ConfigureAwait(false);
            if (answer.IsSuccess || answer.Outcome != FreshBooksOutcome.Transient || attempt >= _options.RefreshAttempts || answer.RetryAfter > _options.MaxInlineRetryAfter)
            {
                break;
            }

            await Task.Delay(schedule.InlineRetryDelay(attempt, answer.RetryAfter), time).ConfigureAwait(false);
            if (!await lease.IsStillHeldAsync(leased, CancellationToken.None).ConfigureAwait(false))
            {
                // Our lease is gone (it ran out, or the row was replaced): whoever holds it now decides. The refresh token was
                // not spent, since FreshBooks did not answer with a pair.
                Log.LeaseLost(logger, leased.Id);
                return null;
            }
        }

        if (answer.IsSuccess)
        {
            return await SaveRenewedAsync(leased, answer.Value!).ConfigureAwait(false);
        }

        if (answer.Outcome == FreshBooksOutcome.InvalidGrant)
        {
            return await MarkNeedsReconsentAsync(leased, answer).ConfigureAwait(false);
        }

        return await RecordFailureAsync(leased, answer).ConfigureAwait(false);
    }

    private async Task<RenewalResult> SaveRenewedAsync(Connection leased, TokenGrant grant)
    {
        var now = time.GetUtcNow();
        var renewed = leased with
        {
            AccessToken = grant.AccessToken,
            RefreshToken = grant.RefreshToken,
            Scopes = string.IsNullOrEmpty(grant.Scope) ? leased.Scopes : grant.Scope,
            AccessTokenExpiresAt = grant.AccessTokenExpiresAt,
            TokenGeneration = leased.TokenGeneration + 1,
            Status = ConnectionStatus.Active,
            StatusReason = null,
            StatusChangedAt = leased.Status == ConnectionStatus.Active ? leased.StatusChangedAt : now,
            UpdatedAt = now,
            LastRenewedAt = now,
            FailedAttempts = 0,
            NextRenewalAt = schedule.NextRenewal(grant.AccessTokenExpiresAt, now),
            LeaseOwner = null,
            LeaseUntil = null,
        };

        var saved = await SaveAsync(leased, renewed).ConfigureAwait(false);
        if (saved is null)
        {
            // The pair is lost with this process; FreshBooks has already spent the previous refresh token.
            Log.RenewedPairNotSaved(logger, leased.Id);
            metrics.RecordRenewal(RenewalOutcome.Failed);
            return new RenewalResult(RenewalOutcome.Failed, leased);
        }

        if (saved.TokenGeneration != renewed.TokenGeneration)
        {
            // A new consent replaced the grant while we renewed the old one: the new consent wins; ours is revoked.
            Log.RenewalSuperseded(logger, leased.Id);
            await freshBooks.RevokeAsync(grant.RefreshToken, CancellationToken.None).ConfigureAwait(false);
            return new RenewalResult(RenewalOutcome.Current, saved);
        }

        Log.Renewed(logger, leased.Id, renewed.AccessTokenExpiresAt);
        metrics.RecordRenewal(RenewalOutcome.Renewed);
        return new RenewalResult(RenewalOutcome.Renewed, saved);
    }

    private async Task<RenewalResult> MarkNeedsReconsentAsync(Connection leased, FreshBooksResult<TokenGrant> answer)
    {
        var now = time.GetUtcNow();
        var dead = leased with
        {
            Status = ConnectionStatus.NeedsReconsent,
            StatusReason = Describe(answer),
            StatusChangedAt = now,
            UpdatedAt = now,
            LastError = Describe(answer),
            LastErrorAt = now,
            NextRenewalAt = null,
            LeaseOwner = null,
            LeaseUntil = null,
        };
        var saved = await SaveAsync(leased, dead).ConfigureAwait(false);
        if (saved is not null && saved.TokenGeneration != leased.TokenGeneration)
        {
            // A new consent arrived meanwhile: the grant that died is not the connection's any more.
            return new RenewalResult(RenewalOutcome.Current, saved);
        }

        Log.NeedsReconsent(logger, leased.Id, answer.Error);
        metrics.RecordRenewal(RenewalOutcome.NeedsReconsent);
        return new RenewalResult(RenewalOutcome.NeedsReconsent, saved ?? dead);
    }

    private async Task<RenewalResult> RecordFailureAsync(Connection leased, FreshBooksResult<TokenGrant> answer)
    {
        var now = time.GetUtcNow();
        var failures = leased.FailedAttempts + 1;
        var failed = leased with
        {
            FailedAttempts = failures,
            LastError = Describe(answer),
            LastErrorAt = now,
            UpdatedAt = now,
            NextRenewalAt = schedule.NextRetry(failures, now, answer.RetryAfter),
            LeaseOwner = null,
            LeaseUntil = null,
        };
        var saved = await SaveAsync(leased, failed).ConfigureAwait(false);
        if (saved is not null && saved.TokenGeneration != leased.TokenGeneration)
        {
            return new RenewalResult(RenewalOutcome.Current, saved);
        }

        Log.RenewalFailed(logger, leased.Id, answer.Outcome, answer.Error, failures);
        metrics.RecordRenewal(RenewalOutcome.Failed);
        return new RenewalResult(RenewalOutcome.Failed, saved ?? failed, answer.RetryAfter);
    }

    /// <summary>
    /// Writes <paramref name="updated"/> over the row this renewal leased, retrying storage errors with backoff. On a conflict it
    /// re-reads: if the row still holds the pair this renewal spent, ours is the newest and is written over the new ETag; if a
    /// new consent replaced it, the stored row wins. Keeps the renewal index in step: the new entry is written before the row
    /// points at it, the old one removed after.
    /// </summary>
    /// <returns>The row as stored afterwards, or null if it could not be written.</returns>
    private async Task<Connection?> SaveAsync(Connection leased, Connection updated)
    {
        var delay = _options.SaveRetryDelay;
        for (var attempt = 1; attempt <= _options.SaveAttempts; attempt++)
        {
            try
            {
                if (updated.NextRenewalAt is { } next && next != leased.NextRenewalAt)
                {
                    await index.ScheduleAsync(updated.Id, next, CancellationToken.None).ConfigureAwait(false);
                }

                var write = await store.ReplaceAsync(updated, CancellationToken.None).ConfigureAwait(false);
                if (write.Written)
                {
                    if (leased.NextRenewalAt is { } previous && previous != updated.NextRenewalAt)
                    {
                        await index.RemoveAsync(updated.Id, previous, CancellationToken.None).ConfigureAwait(false);
                    }

                    return updated with { ETag = write.ETag };
                }

                var current = await store.GetAsync(updated.Id, CancellationToken.None).ConfigureAwait(false);
                if (current is null)
                {
                    Log.RenewedConnectionDeleted(logger, updated.Id);
                    return null;
                }

                if (current.TokenGeneration != leased.TokenGeneration)
                {
                    return current;
                }

                Log.SaveConflictRetried(logger, updated.Id, attempt);
                updated = updated with { ETag = current.ETag };
                continue;
            }
            catch (RequestFailedException ex)
            {
                Log.SaveFailedRetrying(logger, updated.Id, ex.Status, attempt);
            }

            if (attempt < _options.SaveAttempts)
            {
                await Task.Delay(delay, time).ConfigureAwait(false);
                delay *= 2;
            }
        }

        return null;
    }

    private static string Describe<T>(FreshBooksResult<T> answer) =>
        answer.ErrorDescription is { Length: > 0 } description ? $"{answer.Error}: {Truncate(description)}" : answer.Error ?? answer.Outcome.ToString();

    private static string Truncate(string value) => value.Length <= 200 ? value : value[..200];

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
