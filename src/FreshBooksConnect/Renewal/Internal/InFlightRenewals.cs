using System.Collections.Concurrent;

namespace FreshBooksConnect.Renewal.Internal;

/// <summary>The refreshes running in this process, one per connection, so concurrent callers share one (after Duende's keyed Lazy map).</summary>
internal sealed class InFlightRenewals
{
    private readonly ConcurrentDictionary<string, Lazy<Task<RenewalResult?>>> _flights = new(StringComparer.Ordinal);

    public Task<RenewalResult?> JoinOrStartAsync(string connectionId, Func<Task<RenewalResult?>> refresh, CancellationToken cancellationToken)
    {
        Lazy<Task<RenewalResult?>>? flight = null;
        flight = new Lazy<Task<RenewalResult?>>(
            () =>
            {
                var task = refresh();

                // The flight removes itself when it ends, whoever still waits: a caller that gave up must not leave a finished
                // result behind for the next caller hours later.
                _ = task.ContinueWith(
                    _ => _flights.TryRemove(new KeyValuePair<string, Lazy<Task<RenewalResult?>>>(connectionId, flight!)),
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
                return task;
            },
            LazyThreadSafetyMode.ExecutionAndPublication);
        return _flights.GetOrAdd(connectionId, flight).Value.WaitAsync(cancellationToken);
    }

    /// <summary>The refresh of <paramref name="connectionId"/> running in this process, to wait on; null when there is none.</summary>
    public Task<RenewalResult?>? Join(string connectionId, CancellationToken cancellationToken) =>
        _flights.TryGetValue(connectionId, out var flight) ? flight.Value.WaitAsync(cancellationToken) : null;
}
