using System.Text.Json;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Renewal.Internal;

internal sealed class StorageRenewalQueue(StorageClients storage) : IRenewalQueue
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    // A lost answer makes the SDK send the message again: a duplicate renewal message is harmless (the lease decides).
    public Task EnqueueAsync(RenewalMessage message, CancellationToken cancellationToken) =>
        StorageFailures.GuardAsync(() => storage.RenewalQueue.SendMessageAsync(JsonSerializer.Serialize(message, Json), cancellationToken), cancellationToken);
}
