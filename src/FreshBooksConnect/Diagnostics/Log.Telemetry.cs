using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Diagnostics;

internal static partial class Log
{
    [LoggerMessage(6001, LogLevel.Information, "Last {Seconds} s: {Renewed} renewed, {Failed} renewals failed, {NeedsReconsent} need a new consent; {Consents} consents ({Connected} connected); {TokenRequests} token requests; connections: {Connections}")]
    public static partial void TelemetrySummary(ILogger logger, int seconds, long renewed, long failed, long needsReconsent, long consents, long connected, long tokenRequests, string connections);

    [LoggerMessage(6002, LogLevel.Information, "Connections counted: {Active} active, {NeedsReconsent} need a new consent, {Removing} being removed")]
    public static partial void ConnectionsCounted(ILogger logger, long active, long needsReconsent, long removing);

    [LoggerMessage(6003, LogLevel.Warning, "Connections not counted now: storage is unavailable (status {Status}); the next hourly count tries again")]
    public static partial void ConnectionCountDeferred(ILogger logger, int status);
}
