using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Renewal;

/// <summary>Handles one renewal message: renews the connection if it is still due and keeps the index free of stale entries.</summary>
public sealed class RenewalWorker(IConnectionRenewer renewer, IRenewalIndex index, ILogger<RenewalWorker> logger)
{
    public async Task<RenewalResult> ProcessAsync(RenewalMessage message, CancellationToken cancellationToken)
    {
        using var span = ConnectTelemetry.StartLinkedSpan(ConnectTelemetry.RenewalMessageSpan, message.ConnectionId, message.TraceParent);
        RenewalResult result;
        try
        {
            result = await RenewAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            // The message completes: its index entry stays marked and the sweep offers it again after RequeueAfter. Failing the
            // message instead would only retry it at once and then park it in the poison queue.
            Log.RenewalMessageDeferred(logger, message.ConnectionId, ex.Status);
            result = new RenewalResult(RenewalOutcome.Busy, null);
        }

        span.SetOutcome(result.Outcome);
        return result;
    }

    private async Task<RenewalResult> RenewAsync(RenewalMessage message, CancellationToken cancellationToken)
    {
        var result = await renewer.RenewAsync(message.ConnectionId, RenewalReason.Sweep, cancellationToken).ConfigureAwait(false);

        // The entry that produced this message is stale when the row no longer points at it (renewed meanwhile, dead, deleted),
        // or when nothing can ever renew it (tokens that can't be decrypted: such a connection is listed, not renewed).
        // A renewal that ran here (renewed or failed) already moved the entry itself: deleting it again costs a round trip.
        // An entry it did not move comes due again, and that renewal finds it stale.
        var movedByThisRenewal = result.Outcome is RenewalOutcome.Renewed or RenewalOutcome.Failed;
        var stale = !movedByThisRenewal
            && (result.Outcome is RenewalOutcome.NotFound or RenewalOutcome.NeedsReconsent or RenewalOutcome.Removing or RenewalOutcome.Unreadable
                || (result.Connection is { } connection && connection.NextRenewalAt != message.RenewAt));
        if (stale)
        {
            await index.DropStaleAsync(message.ConnectionId, message.RenewAt, cancellationToken).ConfigureAwait(false);
        }

        Log.RenewalProcessed(logger, message.ConnectionId, result.Outcome);
        return result;
    }
}
