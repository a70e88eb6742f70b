using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Renewal.Internal;

/// <summary>
/// Renewals whose outcome is decided but not stored yet: FreshBooks answered (above all, with a new pair that replaced the stored
/// one) and storage has not taken the write. This process answers for such a connection from here while the save goes on, and a
/// graceful shutdown waits for the saves (as long as the host lets it) before the pairs are gone with the process.
/// </summary>
internal sealed class UnsavedRenewals(ILogger<UnsavedRenewals> logger) : IHostedService
{
    private readonly ConcurrentDictionary<string, Save> _saves = new(StringComparer.Ordinal);

    /// <summary>
    /// The outcome of this connection's renewal as it will be stored, while its save is still going on, and the token generation
    /// the renewal started from (a stored row past it means the outcome was overtaken).
    /// </summary>
    public bool TryGet(string connectionId, [NotNullWhen(true)] out Connection? outcome, out long spentGeneration, out bool newPair)
    {
        var found = _saves.TryGetValue(connectionId, out var save);
        (outcome, spentGeneration, newPair) = found ? (save!.Outcome, save.SpentGeneration, save.NewPair) : (null, 0, false);
        return found;
    }

    /// <summary>
    /// Answers for <paramref name="outcome"/> until <paramref name="saving"/> ends, however it ends. <paramref name="newPair"/>: the
    /// outcome holds a pair FreshBooks issued, which is lost if the process stops before it is stored.
    /// </summary>
    public void Track(Connection outcome, long spentGeneration, bool newPair, Task saving)
    {
        var entry = new Save(outcome, spentGeneration, newPair, saving);
        _saves[outcome.Id] = entry;
        _ = saving.ContinueWith(
            _ => _saves.TryRemove(new KeyValuePair<string, Save>(outcome.Id, entry)),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Waits for the saves still going on, until the host's shutdown time runs out.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var saving = _saves.Values.Select(s => s.Saving).ToList();
        if (saving.Count == 0)
        {
            return;
        }

        try
        {
            await Task.WhenAll(saving).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            foreach (var (connectionId, save) in _saves.Where(s => s.Value.NewPair))
            {
                Log.RenewedPairNotSaved(logger, connectionId);
            }
        }
    }

    private sealed record Save(Connection Outcome, long SpentGeneration, bool NewPair, Task Saving);
}
