using System.Collections.Concurrent;

namespace FreshBooksConnect.Renewal.Internal;

/// <summary>The refreshes running in this process, one per connection, so concurrent callers share one (after Duende's keyed Lazy map).</summary>
internal sealed class InFlightRenewals
{
    private readonly ConcurrentDictionary<string, Lazy<Task<RenewalResult?>>> _flights = new(StringComparer.Ordinal);

    public async Task<RenewalResult?> JoinOrStartAsync(string connectionId, Func<Task<RenewalResult?>> refresh, CancellationToken cancellationToken)
    {
        var flight = _flights.GetOrAdd(connectionId, _ => new Lazy<Task<RenewalResult?>>(refresh, LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return await flight.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (flight.Value.IsCompleted)
            {
                _flights.TryRemove(new KeyValuePair<string, Lazy<Task<RenewalResult?>>>(connectionId, flight));
            }
        }
    }
}
