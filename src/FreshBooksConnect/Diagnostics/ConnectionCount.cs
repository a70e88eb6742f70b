using FreshBooksConnect.Connections;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Diagnostics;

/// <summary>The hourly timer's work: counts the connections by status for the <c>freshbooks.connections</c> gauge.</summary>
public sealed class ConnectionCount(IConnectionCensus census, RenewalMetrics metrics, TimeProvider time, ILogger<ConnectionCount> logger)
{
    public async Task CountAsync(CancellationToken cancellationToken)
    {
        try
        {
            var counts = await census.CountByStatusAsync(cancellationToken).ConfigureAwait(false);
            metrics.ConnectionsCounted(counts, time.GetUtcNow());
            Log.ConnectionsCounted(logger, counts.GetValueOrDefault(ConnectionStatus.Active), counts.GetValueOrDefault(ConnectionStatus.NeedsReconsent), counts.GetValueOrDefault(ConnectionStatus.Removing));
        }
        catch (StorageUnavailableException ex)
        {
            // The gauge keeps its last count (for a while); the next hour counts again.
            Log.ConnectionCountDeferred(logger, ex.Status);
        }
    }
}
