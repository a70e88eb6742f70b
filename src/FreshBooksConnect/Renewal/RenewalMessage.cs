namespace FreshBooksConnect.Renewal;

/// <summary>
/// One queue message: renew <see cref="ConnectionId"/>, found due by the index entry for <see cref="RenewAt"/>.
/// <see cref="TraceParent"/> is the sweep's trace context (W3C), so the renewal's span links to the sweep that queued it;
/// messages queued before it existed have none.
/// </summary>
public sealed record RenewalMessage(string ConnectionId, DateTimeOffset RenewAt, string? TraceParent = null);

/// <summary>Hands due connections to the renewal queue, so renewals spread across instances.</summary>
public interface IRenewalQueue
{
    Task EnqueueAsync(RenewalMessage message, CancellationToken cancellationToken);
}

/// <summary>What one sweep saw and did.</summary>
public sealed record SweepResult(int Due, int Enqueued, int Skipped, int ExpiredConsentsPurged);
