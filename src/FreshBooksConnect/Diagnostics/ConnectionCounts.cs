using System.Diagnostics.Metrics;
using FreshBooksConnect.Connections;

namespace FreshBooksConnect.Diagnostics;

/// <summary>
/// What the <c>freshbooks.connections</c> gauge reports, fed cheaply: a count by status that the hourly <c>CountConnections</c>
/// timer takes (one projected query), plus every change this instance writes since. Reading it never touches storage. An
/// instance whose count is older than <see cref="FreshFor"/> reports nothing, so only the instance that counted last reports.
/// </summary>
internal sealed class ConnectionCounts(TimeProvider time)
{
    /// <summary>The hourly count, with some slack for a late timer.</summary>
    public static readonly TimeSpan FreshFor = TimeSpan.FromMinutes(75);

    private readonly Lock _lock = new();
    private readonly Dictionary<ConnectionStatus, long> _counts = [];
    private DateTimeOffset? _countedAt;

    public void Counted(IReadOnlyDictionary<ConnectionStatus, long> counts, DateTimeOffset at)
    {
        lock (_lock)
        {
            _counts.Clear();
            foreach (var status in Enum.GetValues<ConnectionStatus>())
            {
                _counts[status] = counts.GetValueOrDefault(status);
            }

            _countedAt = at;
        }
    }

    /// <summary>A change this instance wrote: moves one connection between statuses (or in, or out).</summary>
    public void Written(ConnectionChange change)
    {
        (ConnectionStatus? From, ConnectionStatus? To) move = change switch
        {
            { Kind: ConnectionChangeKind.Removed } => (change.After.Status, null),
            { Before: null } => (null, change.After.Status),
            _ => (change.Before.Status, change.After.Status),
        };
        var (from, to) = move;
        if (from == to)
        {
            return;
        }

        lock (_lock)
        {
            if (_countedAt is null)
            {
                return;
            }

            if (from is { } left)
            {
                _counts[left] = Math.Max(0, _counts.GetValueOrDefault(left) - 1);
            }

            if (to is { } arrived)
            {
                _counts[arrived] = _counts.GetValueOrDefault(arrived) + 1;
            }
        }
    }

    public IEnumerable<Measurement<long>> Observe()
    {
        lock (_lock)
        {
            if (_countedAt is not { } at || time.GetUtcNow() - at > FreshFor)
            {
                return [];
            }

            return _counts.Select(pair => new Measurement<long>(pair.Value, new KeyValuePair<string, object?>(ConnectTelemetry.StatusTag, ConnectTelemetry.TagValue(pair.Key)))).ToList();
        }
    }
}
