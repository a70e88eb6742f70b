using FreshBooksConnect.Diagnostics;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>Every hour: counts the connections by status for the <c>freshbooks.connections</c> gauge (one query of statuses only).</summary>
public sealed class CountConnectionsFunction(ConnectionCount count)
{
    [Function("CountConnections")]
    public Task Run([TimerTrigger("0 0 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        count.CountAsync(cancellationToken);
}
