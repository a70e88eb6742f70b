using System.Security.Cryptography;
using System.Text;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Renewal.Internal;

internal sealed class ConnectionRenewer(
    IConnectionStore store,
    IConnectionLease lease,
    InFlightRenewals inFlight,
    UnsavedRenewals unsaved,
    StorageRetries retries,
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
            // This process renewed it and storage has not taken the outcome yet: answer from that, not from the stored row.
            if (unsaved.TryGet(connectionId, out var outcome))
            {
                return FromUnsaved(outcome, reason);
            }

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

            switch (connection.Status)
            {
                case ConnectionStatus.NeedsReconsent:
                    return new RenewalResult(RenewalOutcome.NeedsReconsent, connection);
                case ConnectionStatus.Removing:
                    return new RenewalResult(RenewalOutcome.Removing, connection);
            }

            var now = time.GetUtcNow();
            if (connection.IsRenewalInDoubt(lease.Owner, now, _options.SaveTimeout))
            {
                Log.RenewalInDoubt(logger, connectionId, connection.LeaseUntil!.Value + _options.SaveTimeout);
                return new RenewalResult(RenewalOutcome.Busy, connection);
            }

            if (connection.IsLeasedByOther(lease.Owner, now))
            {
                if (reason is RenewalReason.Scheduled)
                {
                    return new RenewalResult(RenewalOutcome.Busy, connection);
                }

                // A renewal is under way on another instance: the stored token may die with it any moment. Wait for its outcome
                // rather than hand out that token or start a second refresh.
                var released = await lease.WaitForReleaseAsync(connectionId, cancellationToken).ConfigureAwait(false);
                if (released is not null && released.IsLeasedByOther(lease.Owner, time.GetUtcNow()))
                {
                    return new RenewalResult(RenewalOutcome.Busy, released, _options.LeaseWaitInterval);
                }

                continue;
            }

            if (!IsNeeded(connection, reason))
            {
                return new RenewalResult(RenewalOutcome.Current, connection);
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

    private RenewalResult FromUnsaved(Connection outcome, RenewalReason reason) =>
        outcome.Status == ConnectionStatus.NeedsReconsent ? new RenewalResult(RenewalOutcome.NeedsReconsent, outcome)
        : IsNeeded(outcome, reason) ? new RenewalResult(RenewalOutcome.Busy, outcome)
        : new RenewalResult(RenewalOutcome.Current, outcome);

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
            bool held;
            try
            {
                held = await lease.IsStillHeldAsync(leased, CancellationToken.None).ConfigureAwait(false);
            }
            catch (StorageUnavailableException)
            {
                // Without storage the lease can't be checked: stop trying now and record the failure, which releases the lease
                // once storage answers again.
                break;
            }

            if (!held)
            {
                // Our lease is gone (it ran out, or the row was replaced): whoever holds it now decides. The refresh token was
                // not spent, since FreshBooks did not answer with a pair.
                Log.LeaseLost(logger, leased.Id);
                return null;
            }
        }

        if (answer.IsSuccess)
        {
            return await SaveAsync(leased, Renewed(leased, answer.Value!), OutcomeKind.Renewed, answer).ConfigureAwait(false);
        }

        if (answer.Outcome == FreshBooksOutcome.InvalidGrant)
        {
            return await SaveAsync(leased, NeedsReconsent(leased, answer), OutcomeKind.NeedsReconsent, answer).ConfigureAwait(false);
        }

        return await SaveAsync(leased, Failed(leased, answer), OutcomeKind.Failed, answer).ConfigureAwait(false);
    }

    private Connection Renewed(Connection leased, TokenGrant grant)
    {
        var now = time.GetUtcNow();
        return leased with
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
    }

    private Connection NeedsReconsent(Connection leased, FreshBooksResult<TokenGrant> answer)
    {
        var now = time.GetUtcNow();
        return leased with
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
    }

    private Connection Failed(Connection leased, FreshBooksResult<TokenGrant> answer)
    {
        var now = time.GetUtcNow();
        var failures = leased.FailedAttempts + 1;
        return leased with
        {
            FailedAttempts = failures,
            LastError = Describe(answer),
            LastErrorAt = now,
            UpdatedAt = now,
            NextRenewalAt = schedule.NextRetry(failures, now, answer.RetryAfter),
            LeaseOwner = null,
            LeaseUntil = null,
        };
    }

    /// <summary>
    /// Stores the renewal's outcome, retrying while storage is unavailable for up to <see cref="RenewalOptions.SaveTimeout"/>.
    /// The caller waits for the first <see cref="RenewalOptions.SaveAttempts"/> tries; after that it is answered with the outcome
    /// as it will be stored (a new pair: its new token), and this process answers from it until the save ends.
    /// </summary>
    private async Task<RenewalResult> SaveAsync(Connection leased, Connection outcome, OutcomeKind kind, FreshBooksResult<TokenGrant> answer)
    {
        var waitedLongEnough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var saving = SaveUntilStoredAsync(leased, outcome, kind, answer, waitedLongEnough);
        unsaved.Track(outcome, kind == OutcomeKind.Renewed, saving);
        if (await Task.WhenAny(saving, waitedLongEnough.Task).ConfigureAwait(false) == saving)
        {
            return await saving.ConfigureAwait(false);
        }

        Log.OutcomeKeptUntilSaved(logger, leased.Id, kind.ToString());
        return kind switch
        {
            OutcomeKind.Renewed => new RenewalResult(RenewalOutcome.Renewed, outcome),
            OutcomeKind.NeedsReconsent => new RenewalResult(RenewalOutcome.NeedsReconsent, outcome),
            _ => new RenewalResult(RenewalOutcome.Failed, outcome, answer.RetryAfter),
        };
    }

    private async Task<RenewalResult> SaveUntilStoredAsync(Connection leased, Connection outcome, OutcomeKind kind, FreshBooksResult<TokenGrant> answer, TaskCompletionSource waitedLongEnough)
    {
        Saved saved;
        try
        {
            saved = await retries.UntilSaved(() => waitedLongEnough.TrySetResult())
                .ExecuteAsync(async _ => await WriteAsync(leased, outcome).ConfigureAwait(false), CancellationToken.None)
                .ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            return GiveUp(leased, kind, ex.Status);
        }

        if (saved.Stored is not { } stored)
        {
            // Deleted, or a new consent replaced the grant while we renewed the old one: nobody will use the pair we got.
            if (kind == OutcomeKind.Renewed)
            {
                Log.RenewalSuperseded(logger, leased.Id);
                await freshBooks.RevokeAsync(outcome.RefreshToken, CancellationToken.None).ConfigureAwait(false);
            }

            return saved.Current is { } current ? new RenewalResult(RenewalOutcome.Current, current) : new RenewalResult(RenewalOutcome.NotFound, null);
        }

        switch (kind)
        {
            case OutcomeKind.Renewed:
                Log.Renewed(logger, leased.Id, stored.AccessTokenExpiresAt);
                metrics.RecordRenewal(RenewalOutcome.Renewed);
                return new RenewalResult(RenewalOutcome.Renewed, stored);
            case OutcomeKind.NeedsReconsent:
                Log.NeedsReconsent(logger, leased.Id, answer.Error);
                metrics.RecordRenewal(RenewalOutcome.NeedsReconsent);
                return new RenewalResult(RenewalOutcome.NeedsReconsent, stored);
            default:
                Log.RenewalFailed(logger, leased.Id, answer.Outcome, answer.Error, stored.FailedAttempts);
                metrics.RecordRenewal(RenewalOutcome.Failed);
                return new RenewalResult(RenewalOutcome.Failed, stored, answer.RetryAfter);
        }
    }

    private RenewalResult GiveUp(Connection leased, OutcomeKind kind, int status)
    {
        metrics.RecordRenewal(RenewalOutcome.Failed);
        if (kind == OutcomeKind.Renewed)
        {
            // FreshBooks has spent the previous refresh token; the pair dies with this process.
            Log.RenewedPairNotSaved(logger, leased.Id);
        }
        else
        {
            Log.RenewalOutcomeNotSaved(logger, leased.Id, kind.ToString(), status);
        }

        // No connection with it: the stored tokens may be the ones this renewal spent.
        return new RenewalResult(RenewalOutcome.Failed, null);
    }

    /// <summary>
    /// One write of the outcome over the row this renewal leased, keeping the renewal index in step (the new entry is written
    /// before the row points at it). On a conflict it re-reads: if the row still holds the pair this renewal spent, the outcome is
    /// newer and is written over the new ETag; if a new consent or a removal replaced it, the stored row wins.
    /// </summary>
    private async Task<Saved> WriteAsync(Connection leased, Connection outcome)
    {
        for (var read = 0; ; read++)
        {
            if (outcome.NextRenewalAt is { } next && next != leased.NextRenewalAt)
            {
                await index.ScheduleAsync(outcome.Id, next, CancellationToken.None).ConfigureAwait(false);
            }

            var write = await store.ReplaceAsync(outcome, CancellationToken.None).ConfigureAwait(false);
            if (write.Written)
            {
                await RemoveOldEntryAsync(leased, outcome).ConfigureAwait(false);
                return new Saved(outcome with { ETag = write.ETag }, null);
            }

            var current = write.Outcome == StoreWriteOutcome.NotFound ? null : await store.GetAsync(outcome.Id, CancellationToken.None).ConfigureAwait(false);
            if (current is null)
            {
                Log.RenewedConnectionDeleted(logger, outcome.Id);
                return new Saved(null, null);
            }

            if (current.TokenGeneration != leased.TokenGeneration || current.Status == ConnectionStatus.Removing)
            {
                return new Saved(null, current);
            }

            if (read >= MaxRereads)
            {
                // Still the pair this renewal spent, but the row keeps changing: try again after a pause, like an outage.
                throw new StorageUnavailableException($"Connection '{outcome.Id}' kept changing while its renewal was saved.");
            }

            Log.SaveConflictRetried(logger, outcome.Id, read + 1);
            outcome = outcome with { ETag = current.ETag };
        }
    }

    /// <summary>The row is saved: the entry it no longer points at is only a reminder, and a stale one is dropped when it comes due.</summary>
    private async Task RemoveOldEntryAsync(Connection leased, Connection outcome)
    {
        if (leased.NextRenewalAt is not { } previous || previous == outcome.NextRenewalAt)
        {
            return;
        }

        try
        {
            await index.RemoveAsync(outcome.Id, previous, CancellationToken.None).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            Log.StaleEntryLeft(logger, outcome.Id, ex.Status);
        }
    }

    private static string Describe<T>(FreshBooksResult<T> answer) =>
        answer.ErrorDescription is { Length: > 0 } description ? $"{answer.Error}: {Truncate(description)}" : answer.Error ?? answer.Outcome.ToString();

    private static string Truncate(string value) => value.Length <= 200 ? value : value[..200];

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    private enum OutcomeKind
    {
        Renewed,
        NeedsReconsent,
        Failed,
    }

    /// <summary>The outcome as stored, or (when it was not written) the row as it stands, or neither when the row is gone.</summary>
    private sealed record Saved(Connection? Stored, Connection? Current);
}
