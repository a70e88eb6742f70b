using System.Text.Json;
using System.Text.Json.Serialization;
using FreshBooksConnect.Connections;

namespace FreshBooksConnect.Events;

/// <summary>The event types, one per state change a SaaS wants to hear about.</summary>
public static class ConnectionEventTypes
{
    public const string Created = "connection.created";
    public const string Reconnected = "connection.reconnected";
    public const string IdentityChanged = "connection.identity_changed";
    public const string RenewalFailing = "connection.renewal_failing";
    public const string NeedsReconsent = "connection.needs_reconsent";
    public const string Recovered = "connection.recovered";
    public const string Deleted = "connection.deleted";
    public const string Unreadable = "connection.unreadable";
}

/// <summary>
/// One event as it is delivered and listed: a stable id (the <c>webhook-id</c> of every delivery of it), its type, when the
/// change happened, and the non-secret facts about the connection. Never a token, code, state, link or key.
/// </summary>
public sealed record ConnectionEvent(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("timestamp")] DateTimeOffset Timestamp,
    [property: JsonPropertyName("data")] ConnectionEventData Data)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The event a change makes, if any: its id follows the change's write id, so writing the change again never makes a second.</summary>
    public static ConnectionEvent? For(ConnectionChange change) => change.EventType is { } type
        ? new ConnectionEvent("evt_" + change.WriteId, type, change.OccurredAt, ConnectionEventData.From(change))
        : null;

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static ConnectionEvent? FromJson(string json) => JsonSerializer.Deserialize<ConnectionEvent>(json, Json);
}

/// <summary>What an event says about its connection.</summary>
public sealed record ConnectionEventData(
    string ConnectionId,
    string? TenantId,
    string Status,
    string? Reason,
    int FailedAttempts,
    long IdentityId,
    long? PreviousIdentityId,
    IReadOnlyList<ConnectionEventBusiness> Businesses)
{
    public static ConnectionEventData From(ConnectionChange change)
    {
        var connection = change.After;
        var status = change.Kind == ConnectionChangeKind.Removed ? "deleted" : connection.Status switch
        {
            ConnectionStatus.NeedsReconsent => "needs-reconsent",
            ConnectionStatus.Removing => "removing",
            _ => "active",
        };
        var reason = change.EventType switch
        {
            ConnectionEventTypes.NeedsReconsent => connection.StatusReason,
            ConnectionEventTypes.RenewalFailing => connection.LastError,
            ConnectionEventTypes.Unreadable => "The stored tokens cannot be decrypted with the keys in TokenProtection__Keys.",
            _ => null,
        };
        var previous = change.EventType == ConnectionEventTypes.IdentityChanged ? change.Before?.Identity.Id : null;
        return new ConnectionEventData(
            connection.Id,
            connection.TenantId,
            status,
            reason,
            connection.FailedAttempts,
            connection.Identity.Id,
            previous,
            [.. connection.Identity.Businesses.Select(b => new ConnectionEventBusiness(b.BusinessId, b.AccountId, b.Name))]);
    }
}

/// <summary>A business the connection reaches: <see cref="AccountId"/> for the accounting API, <see cref="BusinessId"/> for projects.</summary>
public sealed record ConnectionEventBusiness(long BusinessId, string? AccountId, string? Name);
