using System.Diagnostics;
using System.Diagnostics.Metrics;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Renewal;

namespace FreshBooksConnect.Diagnostics;

/// <summary>
/// The product's instruments (meter <c>FreshBooksConnect</c>): renewals, refresh latency, consents, the token API, lease waits,
/// sweeps, connections by status and event deliveries. Tags are outcomes and statuses only (never a connection id: one series per
/// connection would be unbounded); values are <see cref="ConnectTelemetry.TagValue"/> words. The workbook and the README name them.
/// </summary>
public sealed class RenewalMetrics
{
    public const string MeterName = "FreshBooksConnect";
    private readonly Counter<long> _renewals;
    private readonly Histogram<double> _refreshDuration;
    private readonly Counter<long> _consents;
    private readonly Counter<long> _tokenRequests;
    private readonly Histogram<double> _tokenRequestDuration;
    private readonly Histogram<double> _leaseWaits;
    private readonly Histogram<long> _sweepDue;
    private readonly Counter<long> _eventDeliveries;
    private readonly ConnectionCounts _connections;

    public RenewalMetrics(IMeterFactory meterFactory, TimeProvider time)
    {
        var meter = meterFactory.Create(MeterName);
        _connections = new ConnectionCounts(time);
        _renewals = meter.CreateCounter<long>("freshbooks.renewals", "{renewal}", "Renewals by outcome: renewed, failed (retried later), needs_reconsent");
        _refreshDuration = meter.CreateHistogram<double>("freshbooks.refresh.duration", "s", "One refresh at FreshBooks with its inline retries, by FreshBooks' outcome");
        _consents = meter.CreateCounter<long>("freshbooks.consents", "{consent}", "Callbacks by outcome: connected, declined, code_rejected, ...");
        _tokenRequests = meter.CreateCounter<long>("freshbooks.token_requests", "{request}", "Token API answers by reason (token, rejected_token) and outcome");
        _tokenRequestDuration = meter.CreateHistogram<double>("freshbooks.token_request.duration", "s", "Token API answers, inline renewals included");
        _leaseWaits = meter.CreateHistogram<double>("freshbooks.lease_wait.duration", "s", "Waits for another instance's renewal lease, by outcome: released, still_leased, gone");
        _sweepDue = meter.CreateHistogram<long>("freshbooks.sweep.due", "{connection}", "Connections a renewal sweep found due");
        _eventDeliveries = meter.CreateCounter<long>("freshbooks.event_deliveries", "{delivery}", "Webhook deliveries by outcome: delivered, retried, failed, gone");
        meter.CreateObservableGauge("freshbooks.connections", _connections.Observe, "{connection}", "Connections by status, as last counted (hourly) and changed since");
    }

    internal void RecordRenewal(RenewalOutcome outcome) => _renewals.Add(1, Outcome(outcome));

    internal void RecordRefresh(FreshBooks.FreshBooksOutcome outcome, TimeSpan duration) => _refreshDuration.Record(duration.TotalSeconds, Outcome(outcome));

    internal void RecordConsent(Consent.CallbackOutcome outcome) => _consents.Add(1, Outcome(outcome));

    internal void RecordTokenRequest(RenewalReason reason, TokenOutcome outcome, TimeSpan duration)
    {
        var tags = new TagList { { ConnectTelemetry.ReasonTag, ReasonName(reason) }, { ConnectTelemetry.OutcomeTag, ConnectTelemetry.TagValue(outcome) } };
        _tokenRequests.Add(1, tags);
        _tokenRequestDuration.Record(duration.TotalSeconds, tags);
    }

    internal void RecordLeaseWait(string outcome, TimeSpan duration) => _leaseWaits.Record(duration.TotalSeconds, new KeyValuePair<string, object?>(ConnectTelemetry.OutcomeTag, outcome));

    internal void RecordSweep(int due) => _sweepDue.Record(due);

    internal void RecordEventDelivery(string outcome) => _eventDeliveries.Add(1, new KeyValuePair<string, object?>(ConnectTelemetry.OutcomeTag, outcome));

    internal void ConnectionsCounted(IReadOnlyDictionary<ConnectionStatus, long> counts, DateTimeOffset at) => _connections.Counted(counts, at);

    internal void ConnectionWritten(ConnectionChange change) => _connections.Written(change);

    internal static string ReasonName(RenewalReason reason) => reason switch
    {
        RenewalReason.TokenRejected => "rejected_token",
        RenewalReason.Scheduled => "scheduled",
        _ => "token",
    };

    private static KeyValuePair<string, object?> Outcome(Enum outcome) => new(ConnectTelemetry.OutcomeTag, ConnectTelemetry.TagValue(outcome));
}
