using FreshBooksConnect.Renewal;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>On the <c>RenewalSchedule</c> (NCRONTAB; every 5 minutes by default): hands every due connection to the renewal queue.</summary>
public sealed class RenewalSweepFunction(RenewalSweep sweep)
{
    [Function("RenewalSweep")]
    public Task Run([TimerTrigger("%RenewalSchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        sweep.SweepAsync(cancellationToken);
}
