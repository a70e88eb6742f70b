using FreshBooksConnect.Renewal;
using FreshBooksConnect.Storage;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>Renews one connection per queue message, so renewal scales out across instances; duplicates are harmless (the lease decides).</summary>
public sealed class RenewConnectionFunction(RenewalWorker worker)
{
    [Function("RenewConnection")]
    public Task Run([QueueTrigger(StorageOptions.RenewalQueueName, Connection = StorageOptions.SectionName)] RenewalMessage message, CancellationToken cancellationToken) =>
        worker.ProcessAsync(message, cancellationToken);
}
