using FreshBooksConnect.Events;
using FreshBooksConnect.Functions.Http;
using FreshBooksConnect.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>The events whose webhook delivery was given up (<c>?limit=1..200</c>); each can be redelivered.</summary>
public sealed class ListFailedEventsFunction(ConnectionEventFeed feed)
{
    [Function("ListFailedEvents")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "events/failed")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        if (!RequestInput.TryGetSingle(request.Query, "limit", 3, out var limitText) || !ListEventsFunction.TryLimit(limitText, out var limit))
        {
            return EventProblems.InvalidPaging();
        }

        try
        {
            var failed = await feed.ListFailedAsync(limit, cancellationToken).ConfigureAwait(false);
            return JsonResponse.Ok(new FailedList([.. failed.Select(f => new FailedView(f.Event, f.Attempts, f.FailedAt, f.LastError))]));
        }
        catch (Exception ex) when (ex is StorageUnavailableException || (ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            return ConnectionProblems.Unavailable();
        }
    }

    public sealed record FailedList(IReadOnlyList<FailedView> Events);

    public sealed record FailedView(ConnectionEvent Event, int Attempts, DateTimeOffset FailedAt, string? LastError);
}
