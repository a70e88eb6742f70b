using FreshBooksConnect.Connections;
using FreshBooksConnect.FreshBooks;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Diagnostics;

internal static partial class Log
{
    [LoggerMessage(4001, LogLevel.Information, "Token for connection {ConnectionId}: {Outcome}")]
    public static partial void TokenIssued(ILogger logger, string connectionId, TokenOutcome outcome);

    [LoggerMessage(4002, LogLevel.Warning, "Connection {ConnectionId} not removed: revoking at FreshBooks failed ({Outcome})")]
    public static partial void RemovalFailed(ILogger logger, string connectionId, FreshBooksOutcome outcome);

    [LoggerMessage(4004, LogLevel.Warning, "Token for connection {ConnectionId} not available: storage answered {Status}")]
    public static partial void TokenStorageUnavailable(ILogger logger, string connectionId, int status);

    [LoggerMessage(4003, LogLevel.Information, "Connection {ConnectionId} revoked and removed")]
    public static partial void ConnectionRemoved(ILogger logger, string connectionId);

    [LoggerMessage(4005, LogLevel.Warning, "Connection {ConnectionId} not removed now: storage is unavailable (status {Status}); a repeated DELETE finishes it")]
    public static partial void RemovalStorageUnavailable(ILogger logger, string connectionId, int status);

    [LoggerMessage(4006, LogLevel.Warning, "Storage is not answering at start-up (status {Status}): the app starts, answers 503 meanwhile, and creates its tables when storage answers")]
    public static partial void StorageNotReady(ILogger logger, int status);

    [LoggerMessage(4007, LogLevel.Information, "Connection {ConnectionId}: its row moved from the shared row key to its own (the layout since issue 19)")]
    public static partial void ConnectionRowMoved(ILogger logger, string connectionId);

    [LoggerMessage(4008, LogLevel.Information, "Re-encryption pass under key {CurrentKeyId}: {Rewritten} rewritten, {Current} already current, {Leased} leased and {Changed} changed meanwhile (next pass), {Unreadable} unreadable")]
    public static partial void ReencryptionPass(ILogger logger, string currentKeyId, int rewritten, int current, int leased, int changed, int unreadable);
}
