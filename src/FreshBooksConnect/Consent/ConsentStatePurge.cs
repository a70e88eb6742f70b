using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Consent;

/// <summary>
/// Deletes consent states that expired (a customer who never came back from FreshBooks, or one who did) and the link uses of
/// expired links, on the sweep's timer: a range of expired rows, never a live one.
/// </summary>
public sealed class ConsentStatePurge(IConsentStateStore states, ILogger<ConsentStatePurge> logger)
{
    /// <summary>How many expired states were deleted; none while storage is unavailable (a later sweep purges them).</summary>
    public async Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            return await states.PurgeExpiredAsync(now, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            // Expired consent states are harmless where they are: their expiry refuses them.
            Log.ConsentPurgeDeferred(logger, ex.Status);
            return 0;
        }
    }
}
