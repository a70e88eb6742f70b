using System.Text.RegularExpressions;
using FreshBooksConnect.Events;
using FreshBooksConnect.Functions.Http;
using FreshBooksConnect.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>Puts a failed event back on its way to the webhook (202), keeping its id.</summary>
public sealed partial class RedeliverEventFunction(ConnectionEventFeed feed)
{
    [Function("RedeliverEvent")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "events/{id}/redeliver")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        if (!EventIdPattern().IsMatch(id))
        {
            return EventProblems.InvalidEventId();
        }

        try
        {
            return await feed.RedeliverAsync(id, cancellationToken).ConfigureAwait(false) == RedeliveryOutcome.Queued
                ? JsonResponse.Accepted(new { id, status = "queued" })
                : EventProblems.NotFound(id);
        }
        catch (Exception ex) when (ex is StorageUnavailableException || (ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            return ConnectionProblems.Unavailable();
        }
    }

    [GeneratedRegex("^evt_[0-9a-f]{32}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex EventIdPattern();
}
