using FreshBooksConnect.Events;
using FreshBooksConnect.Storage;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>Delivers the events waiting in one connection's outbox per queue message; duplicates are harmless (a delivery lease decides).</summary>
public sealed class DeliverEventsFunction(EventDelivery delivery)
{
    [Function("DeliverEvents")]
    public Task Run([QueueTrigger(StorageOptions.EventQueueName, Connection = StorageOptions.SectionName)] EventMessage message, CancellationToken cancellationToken) =>
        delivery.DeliverAsync(message, cancellationToken);
}
