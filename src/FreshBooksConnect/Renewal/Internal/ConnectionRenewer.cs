using FreshBooksConnect.Connections;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Events;
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
    RefreshRetries refreshRetries,
    IFreshBooksClient freshBooks,
    RenewalSchedule schedule,
    RenewalMetrics metrics,
    TimeProvider time,
    IOptions<RenewalOptions> options,
    IOptions<EventsOptions> events,
    ILogger<ConnectionRenewer> logger) : IConnectionRenewer
{
    private const int MaxRereads = 5;
    private readonly RenewalOptions _options = options.Value;

    public async Task<RenewalResult> RenewAsync(string connectionId, RenewalReason reason, CancellationToken cancellationToken)
    {
        for (var read = 0; read < MaxRereads; read++)
        {
            Connection? connection;
            if (unsaved.TryGet(connectionId, out var outcome, out var spentGeneration, out var newPair))
            {
                // This process renewed it and storage has not taken the outcome yet: answer from that while the row (when storage
                // answers at all) still holds the pair the renewal spent. A row that moved on (a new consent, a removal) or
                // already holds the new pair is answered from as usual.
                try
                {
                    connection = await store.GetAsync(connectionId, cancellationToken).ConfigureAwait(false);
                }
                catch (StorageUnavailableException)
                {
                    return FromUnsaved(outcome, reason);
                }

                var saved = newPair && connection?.RefreshToken == outcome.RefreshToken;
                if (!saved && connection is { Status: not ConnectionStatus.Removing } row && row.TokenGeneration == spentGeneration)
                {
                    return FromUnsaved(outcome, reason);
                }
            }
            else
            {
                connection = await store.GetAsync(connectionId, cancellationToken).ConfigureAwait(false);
            }

            if (connection is null)
            {
                return new RenewalResult(RenewalOutcome.NotFound, null);
            }

            if (!connection.TokensReadable)
            {
                Log.TokensUnreadable(logger, connectionId);
                await ReportUnreadableAsync(connection).ConfigureAwait(false);
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

            if (!connection.NeedsRenewal(reason, now, _options.InlineRefreshBefore))
            {
                // A renewal running in this process (the sweep's, a queue message's) may have killed the stored token at FreshBooks
                // already, and its lease is this instance's own: share that renewal's outcome rather than hand the token out.
                if (inFlight.Join(connectionId, cancellationToken) is not { } running)
                {
                    return new RenewalResult(RenewalOutcome.Current, connection);
                }

                if (await running.ConfigureAwait(false) is { } shared)
                {
                    return shared;
                }

                continue;
            }

            // One refresh per connection per process: later callers share it. It runs without the callers' cancellation,
            // because a pair FreshBooks has issued must be saved whoever stopped waiting for it.
            var result = await inFlight.JoinOrStartAsync(connectionId, () => RefreshUnderLeaseAsync(connection, reason), cancellationToken).ConfigureAwait(false);
            if (result is not null)
            {
                return result;
            }

            // The row changed under us (another instance leased or renewed it): read again and decide again.
        }

        return new RenewalResult(RenewalOutcome.Busy, null, _options.LeaseWaitInterval);
    }

    /// <summary>Tokens that can't be decrypted are reported once (<c>connection.unreadable</c>); a later read tries again if this fails.</summary>
    private async Task ReportUnreadableAsync(Connection connection)
    {
        if (connection.UnreadableReportedAt is not null)
        {
            return;
        }

        try
        {
            await store.WriteAsync(connection.UnreadableReported(time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
        }
        catch (StorageUnavailableException)
        {
            // Reported by a later read.
        }
    }

    private RenewalResult FromUnsaved(Connection outcome, RenewalReason reason) =>
        outcome.Status == ConnectionStatus.NeedsReconsent ? new RenewalResult(RenewalOutcome.NeedsReconsent, outcome)
        : outcome.NeedsRenewal(reason, time.GetUtcNow(), _options.InlineRefreshBefore) ? new RenewalResult(RenewalOutcome.Busy, outcome)
        : new RenewalResult(RenewalOutcome.Current, outcome);

    /// <returns>The result, or null when the row changed before the lease was taken, or the lease was lost before a pair arrived.</returns>
    private async Task<RenewalResult?> RefreshUnderLeaseAsync(Connection connection, RenewalReason reason)
    {
        // Hand the task out at once, so callers joining meanwhile wait on it rather than block on the Lazy.
        await Task.Yield();
        using var span = ConnectTelemetry.StartSpan(ConnectTelemetry.RenewalSpan, connection.Id);
        span?.SetTag(ConnectTelemetry.ReasonTag, RenewalMetrics.ReasonName(reason));
        var result = await RefreshCoreAsync(connection).ConfigureAwait(false);
        span?.SetTag(ConnectTelemetry.OutcomeTag, result is null ? "changed" : ConnectTelemetry.TagValue(result.Outcome));
        return result;
    }

    private async Task<RenewalResult?> RefreshCoreAsync(Connection connection)
    {
        LeaseResult claim;
        using (var leaseSpan = ConnectTelemetry.StartSpan(ConnectTelemetry.LeaseSpan, connection.Id))
        {
            claim = await lease.AcquireAsync(connection, CancellationToken.None).ConfigureAwait(false);
            leaseSpan.SetOutcome(claim.Outcome);
        }

        switch (claim)
        {
            case { Outcome: LeaseOutcome.NotFound }:
                return new RenewalResult(RenewalOutcome.NotFound, null);
            case { Outcome: LeaseOutcome.Taken }:
                return new RenewalResult(RenewalOutcome.Busy, claim.Connection, _options.LeaseWaitInterval);
            case not { Outcome: LeaseOutcome.Acquired, Connection: { } }:
                return null;
        }

        var leased = claim.Connection;
        var storageDown = false;
        var refreshStarted = time.GetTimestamp();
        var (answer, leaseLost) = await refreshRetries.RunAsync(
            () => freshBooks.RefreshAsync(leased.RefreshToken, CancellationToken.None),
            async () =>
            {
                try
                {
                    return await lease.IsStillHeldAsync(leased, CancellationToken.None).ConfigureAwait(false);
                }
                catch (StorageUnavailableException)
                {
                    // Without storage the lease can't be checked: stop trying now and record the failure, which releases the
                    // lease once storage answers again.
                    storageDown = true;
                    return false;
                }
            }).ConfigureAwait(false);
        metrics.RecordRefresh(answer.Outcome, time.GetElapsedTime(refreshStarted));
        if (leaseLost && !storageDown)
        {
            // Our lease is gone (it ran out, or the row was replaced): whoever holds it now decides. The refresh token was not
            // spent, since FreshBooks did not answer with a pair.
            Log.LeaseLost(logger, leased.Id);
            return null;
        }

        var now = time.GetUtcNow();
        if (answer.IsSuccess)
        {
            return await SaveAsync(leased.Renewed(answer.Value, now, schedule.NextRenewal(answer.Value.AccessTokenExpiresAt, now)), answer).ConfigureAwait(false);
        }

        return answer.Outcome == FreshBooksOutcome.InvalidGrant
            ? await SaveAsync(leased.NeedsReconsent(Describe(answer), now), answer).ConfigureAwait(false)
            : await SaveAsync(leased.RenewalFailed(Describe(answer), now, schedule.NextRetry(leased.FailedAttempts + 1, now, answer.RetryAfter), events.Value.FailingAfter), answer).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores the renewal's outcome, retrying while storage is unavailable for up to <see cref="RenewalOptions.SaveTimeout"/>.
    /// The caller waits for the first <see cref="RenewalOptions.SaveAttempts"/> tries; after that it is answered with the outcome
    /// as it will be stored (a new pair: its new token), and this process answers from it until the save ends.
    /// </summary>
    private async Task<RenewalResult> SaveAsync(ConnectionChange change, FreshBooksResult<TokenGrant> answer)
    {
        using var span = ConnectTelemetry.StartSpan(ConnectTelemetry.SaveSpan, change.After.Id);
        var waitedLongEnough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var saving = SaveUntilStoredAsync(change, answer, waitedLongEnough);
        unsaved.Track(change.After, change.Before!.TokenGeneration, change.Kind == ConnectionChangeKind.Renewed, saving);
        if (await Task.WhenAny(saving, waitedLongEnough.Task).ConfigureAwait(false) == saving)
        {
            var saved = await saving.ConfigureAwait(false);
            span.SetOutcome(saved.Outcome);
            return saved;
        }

        span?.SetTag(ConnectTelemetry.OutcomeTag, "kept_until_saved");
        Log.OutcomeKeptUntilSaved(logger, change.After.Id, change.Kind.ToString());
        return new RenewalResult(Outcome(change.Kind), change.After, answer.RetryAfter);
    }

    private async Task<RenewalResult> SaveUntilStoredAsync(ConnectionChange change, FreshBooksResult<TokenGrant> answer, TaskCompletionSource waitedLongEnough)
    {
        var id = change.After.Id;
        Saved saved;
        try
        {
            saved = await retries.UntilSaved(() => waitedLongEnough.TrySetResult())
                .ExecuteAsync(async _ => await WriteAsync(change).ConfigureAwait(false), CancellationToken.None)
                .ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            return GiveUp(change, ex.Status);
        }

        if (saved.Stored is not { } stored)
        {
            // Deleted, or a new consent replaced the grant while we renewed the old one: nobody will use the pair we got.
            if (change.Kind == ConnectionChangeKind.Renewed)
            {
                Log.RenewalSuperseded(logger, id);
                await freshBooks.RevokeAsync(change.After.RefreshToken, CancellationToken.None).ConfigureAwait(false);
            }

            return saved.Current is { } current ? new RenewalResult(RenewalOutcome.Current, current) : new RenewalResult(RenewalOutcome.NotFound, null);
        }

        switch (change.Kind)
        {
            case ConnectionChangeKind.Renewed:
                Log.Renewed(logger, id, stored.AccessTokenExpiresAt);
                break;
            case ConnectionChangeKind.NeedsReconsent:
                Log.NeedsReconsent(logger, id, answer.Error);
                break;
            default:
                Log.RenewalFailed(logger, id, answer.Outcome, answer.Error, stored.FailedAttempts);
                break;
        }

        metrics.RecordRenewal(Outcome(change.Kind));
        return new RenewalResult(Outcome(change.Kind), stored, answer.RetryAfter);
    }

    private static RenewalOutcome Outcome(ConnectionChangeKind kind) => kind switch
    {
        ConnectionChangeKind.Renewed => RenewalOutcome.Renewed,
        ConnectionChangeKind.NeedsReconsent => RenewalOutcome.NeedsReconsent,
        _ => RenewalOutcome.Failed,
    };

    private RenewalResult GiveUp(ConnectionChange change, int status)
    {
        metrics.RecordRenewal(RenewalOutcome.Failed);
        if (change.Kind == ConnectionChangeKind.Renewed)
        {
            // FreshBooks has spent the previous refresh token; the pair dies with this process.
            Log.RenewedPairNotSaved(logger, change.After.Id);
        }
        else
        {
            Log.RenewalOutcomeNotSaved(logger, change.After.Id, change.Kind.ToString(), status);
        }

        // No connection with it: the stored tokens may be the ones this renewal spent.
        return new RenewalResult(RenewalOutcome.Failed, null);
    }

    /// <summary>
    /// One write of the outcome over the row this renewal leased. On a conflict it re-reads: if the row still holds the pair this
    /// renewal spent, the outcome is newer and is written over the row as it now stands; if a new consent or a removal replaced
    /// it, the stored row wins.
    /// </summary>
    private async Task<Saved> WriteAsync(ConnectionChange change)
    {
        var spentGeneration = change.Before!.TokenGeneration;
        for (var read = 0; ; read++)
        {
            var write = await store.WriteAsync(change, CancellationToken.None).ConfigureAwait(false);
            if (write.Written)
            {
                return new Saved(write.Stored, null);
            }

            var current = write.Outcome == WriteOutcome.NotFound ? null : await store.GetAsync(change.After.Id, CancellationToken.None).ConfigureAwait(false);
            if (current is null)
            {
                Log.RenewedConnectionDeleted(logger, change.After.Id);
                return new Saved(null, null);
            }

            if (change.Kind == ConnectionChangeKind.Renewed && current.RefreshToken == change.After.RefreshToken)
            {
                // An earlier try of this save landed, though storage never said so.
                return new Saved(current, null);
            }

            if (current.TokenGeneration != spentGeneration || current.Status == ConnectionStatus.Removing)
            {
                return new Saved(null, current);
            }

            if (read >= MaxRereads)
            {
                // Still the pair this renewal spent, but the row keeps changing: try again after a pause, like an outage.
                throw new StorageUnavailableException($"Connection '{change.After.Id}' kept changing while its renewal was saved.");
            }

            Log.SaveConflictRetried(logger, change.After.Id, read + 1);
            change = change.Over(current);
        }
    }

    private static string Describe<T>(FreshBooksResult<T> answer) =>
        answer.ErrorDescription is { Length: > 0 } description ? $"{answer.Error}: {Truncate(description)}" : answer.Error ?? answer.Outcome.ToString();

    private static string Truncate(string value) => value.Length <= 200 ? value : value[..200];


    /// <summary>The outcome as stored, or (when it was not written) the row as it stands, or neither when the row is gone.</summary>
    private sealed record Saved(Connection? Stored, Connection? Current);
}
