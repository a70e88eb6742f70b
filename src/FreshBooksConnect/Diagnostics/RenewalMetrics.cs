using System.Diagnostics.Metrics;
using FreshBooksConnect.Renewal;

namespace FreshBooksConnect.Diagnostics;

/// <summary>Counters for renewals, failures, reconsents and new connections (meter <c>FreshBooksConnect</c>).</summary>
public sealed class RenewalMetrics
{
    public const string MeterName = "FreshBooksConnect";
    private readonly Counter<long> _renewals;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _reconsents;
    private readonly Counter<long> _connected;

    public RenewalMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _renewals = meter.CreateCounter<long>("freshbooks.renewals", description: "Token pairs renewed and saved");
        _failures = meter.CreateCounter<long>("freshbooks.renewal_failures", description: "Renewals that failed for now and will be retried");
        _reconsents = meter.CreateCounter<long>("freshbooks.reconsents_needed", description: "Connections whose grant FreshBooks refused");
        _connected = meter.CreateCounter<long>("freshbooks.connections_made", description: "Consents completed");
    }

    internal void RecordRenewal(RenewalOutcome outcome)
    {
        switch (outcome)
        {
            case RenewalOutcome.Renewed:
                _renewals.Add(1);
                break;
            case RenewalOutcome.NeedsReconsent:
                _reconsents.Add(1);
                break;
            case RenewalOutcome.Failed:
                _failures.Add(1);
                break;
        }
    }

    internal void RecordConnected() => _connected.Add(1);
}
