using Microsoft.Extensions.Hosting;

namespace FreshBooksConnect.Storage;

/// <summary>Creates the tables and the queue at start-up when they are missing (Azurite; in Azure the Bicep made them).</summary>
internal sealed class StorageInitializer(StorageClients storage) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => storage.EnsureCreatedAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
