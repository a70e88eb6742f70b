using System.Text.Json;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Renewal.Internal;

internal sealed class StorageRenewalQueue(StorageClients storage) : IRenewalQueue
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task EnqueueAsync(RenewalMessage message, CancellationToken cancellationToken) =>
        await storage.RenewalQueue.SendMessageAsync(JsonSerializer.Serialize(message, Json), cancellationToken).ConfigureAwait(false);
}
