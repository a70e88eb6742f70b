using FreshBooksConnect.Events;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>Every minute: the outboxes whose reminders are due go to the delivery queue; old feed entries go.</summary>
public sealed class EventSweepFunction(EventSweep sweep)
{
    [Function("EventSweep")]
    public Task Run([TimerTrigger("0 */1 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        sweep.SweepAsync(cancellationToken);
}
