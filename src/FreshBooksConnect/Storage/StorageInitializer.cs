using FreshBooksConnect.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Storage;

/// <summary>
/// Creates the tables and queues at start-up when they are missing (Azurite; in Azure the Bicep made them). Storage that is
/// down does not keep the app from starting: it answers 503 meanwhile, and the tables are made as soon as storage answers.
/// </summary>
internal sealed class StorageInitializer(StorageClients storage, ILogger<StorageInitializer> logger) : BackgroundService
{
    private static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await StorageFailures.GuardAsync(() => storage.EnsureCreatedAsync(stoppingToken), stoppingToken).ConfigureAwait(false);
                return;
            }
            catch (StorageUnavailableException ex)
            {
                Log.StorageNotReady(logger, ex.Status);
            }

            await Task.Delay(RetryEvery, stoppingToken).ConfigureAwait(false);
        }
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The first try is part of start-up, so a fresh Azurite has its tables before the first request; later tries are not.
        try
        {
            await StorageFailures.GuardAsync(() => storage.EnsureCreatedAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            Log.StorageNotReady(logger, ex.Status);
            await base.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
