using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Connections;

public enum RemovalOutcome
{
    Removed,
    NotFound,

    /// <summary>FreshBooks could not revoke the grant now, a renewal holds the connection, or storage failed; try again.</summary>
    Unavailable,
}

/// <summary>
/// Disconnects a customer: marks the connection as being removed (with the lease, so no renewal races it), revokes the grant at
/// FreshBooks, then deletes the row. A removal that stops half-way leaves the connection marked, never serving a revoked token, and
/// the next removal finishes it.
/// </summary>
public sealed class ConnectionRemoval(
    IConnectionStore store,
    IConnectionLease lease,
    IFreshBooksClient freshBooks,
    StorageRetries retries,
    TimeProvider time,
    IOptions<RenewalOptions> options,
    ILogger<ConnectionRemoval> logger)
{
    private const int MaxRereads = 5;

    public async Task<RemovalOutcome> RemoveAsync(string connectionId, CancellationToken cancellationToken)
    {
        using var span = ConnectTelemetry.StartSpan(ConnectTelemetry.RemovalSpan, connectionId);
        RemovalOutcome outcome;
        try
        {
            outcome = await RemoveCoreAsync(connectionId, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            Log.RemovalStorageUnavailable(logger, connectionId, ex.Status);
            outcome = RemovalOutcome.Unavailable;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped while waiting for a renewal's lease: nothing was changed yet.
            outcome = RemovalOutcome.Unavailable;
        }

        span.SetOutcome(outcome);
        return outcome;
    }

    private async Task<RemovalOutcome> RemoveCoreAsync(string connectionId, CancellationToken cancellationToken)
    {
        for (var read = 0; read < MaxRereads; read++)
        {
            var connection = await store.GetAsync(connectionId, cancellationToken).ConfigureAwait(false);
            if (connection is null)
            {
                return RemovalOutcome.NotFound;
            }

            if (connection.Status == ConnectionStatus.Removing)
            {
                // Another removal is under way, or one stopped half-way: revoking again is harmless, so finish it.
                return await FinishAsync(connection, restoreOnFailure: null).ConfigureAwait(false);
            }

            if (connection.IsLeasedByOther(lease.Owner, time.GetUtcNow()))
            {
                connection = await lease.WaitForReleaseAsync(connectionId, cancellationToken).ConfigureAwait(false);
                if (connection is null)
                {
                    return RemovalOutcome.NotFound;
                }

                if (connection.IsLeasedByOther(lease.Owner, time.GetUtcNow()))
                {
                    return RemovalOutcome.Unavailable;
                }

                continue;
            }

            if (!connection.TokensReadable)
            {
                // Nothing to revoke with: the grant can't be read. Removing the row is all that is left to do.
                return await DeleteAsync(connection).ConfigureAwait(false);
            }

            // Marked before FreshBooks is called: from here on no instance serves or renews it, whatever happens next.
            var now = time.GetUtcNow();
            var write = await store.WriteAsync(connection.RemovalStarted(lease.Owner, now + options.Value.LeaseDuration, now), CancellationToken.None).ConfigureAwait(false);
            switch (write.Outcome)
            {
                case WriteOutcome.Written:
                    return await FinishAsync(write.Stored!, restoreOnFailure: connection).ConfigureAwait(false);
                case WriteOutcome.NotFound:
                    return RemovalOutcome.NotFound;
            }
        }

        return RemovalOutcome.Unavailable;
    }

    /// <param name="restoreOnFailure">The row as it was before this removal marked it: put back when FreshBooks can't revoke now.</param>
    private async Task<RemovalOutcome> FinishAsync(Connection removing, Connection? restoreOnFailure)
    {
        if (removing.TokensReadable)
        {
            // The refresh token carries the grant; the access token dies at once with it. A grant FreshBooks already forgot
            // (invalid_grant and the like) needs no revoking.
            var revoked = await freshBooks.RevokeAsync(removing.RefreshToken, CancellationToken.None).ConfigureAwait(false);
            if (!revoked.IsSuccess && revoked.Outcome is FreshBooksOutcome.Transient or FreshBooksOutcome.InvalidClient)
            {
                Log.RemovalFailed(logger, removing.Id, revoked.Outcome);
                if (restoreOnFailure is not null)
                {
                    await store.WriteAsync(removing.RemovalWithdrawn(restoreOnFailure, time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
                }

                return RemovalOutcome.Unavailable;
            }

            await freshBooks.RevokeAsync(removing.AccessToken, CancellationToken.None).ConfigureAwait(false);
        }

        return await DeleteAsync(removing).ConfigureAwait(false);
    }

    private async Task<RemovalOutcome> DeleteAsync(Connection connection)
    {
        for (var read = 0; read < MaxRereads; read++)
        {
            var deleted = await retries.WhileWaiting.ExecuteAsync(
                async _ => await store.WriteAsync(connection.Removed(time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false),
                CancellationToken.None).ConfigureAwait(false);

            // Changed since it was read: still being removed (another removal's mark, or a renewal's late save) means delete it.
            var current = deleted.Outcome == WriteOutcome.Conflict ? await store.GetAsync(connection.Id, CancellationToken.None).ConfigureAwait(false) : null;
            if (current is null)
            {
                // Gone is gone: deleted here (perhaps by a try whose answer was lost), or by a removal running beside this one.
                Log.ConnectionRemoved(logger, connection.Id);
                return RemovalOutcome.Removed;
            }

            if (current.Status != ConnectionStatus.Removing && connection.Status == ConnectionStatus.Removing)
            {
                // A new consent revived it meanwhile: that connection is not the one asked to be removed.
                return RemovalOutcome.Unavailable;
            }

            connection = current;
        }

        return RemovalOutcome.Unavailable;
    }
}
