using FreshBooksConnect.Proxy;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Diagnostics;

internal static partial class Log
{
    // The path's family only: the rest may hold ids of the customer's books, the query their search terms.
    [LoggerMessage(6001, LogLevel.Information, "Proxied {Method} {Family} for connection {ConnectionId}: {Outcome} ({Status})")]
    public static partial void Proxied(ILogger logger, string connectionId, string method, string family, ProxyOutcome outcome, int status);
}
