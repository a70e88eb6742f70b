using System.Globalization;
using FreshBooksConnect.Events;
using FreshBooksConnect.Functions.Http;
using FreshBooksConnect.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>The event feed, in order, from a cursor (<c>?after={cursor}&amp;limit=1..200</c>): for a SaaS that reads instead of receiving webhooks.</summary>
public sealed class ListEventsFunction(ConnectionEventFeed feed)
{
    private const int DefaultLimit = 50;

    [Function("ListEvents")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "events")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        if (!RequestInput.TryGetSingle(request.Query, "after", 256, out var after)
            || !RequestInput.TryGetSingle(request.Query, "limit", 3, out var limitText)
            || !TryLimit(limitText, out var limit))
        {
            return EventProblems.InvalidPaging();
        }

        try
        {
            var page = await feed.ReadAsync(after, limit, cancellationToken).ConfigureAwait(false);
            return page is null ? EventProblems.InvalidPaging() : JsonResponse.Ok(new EventList(page.Events, page.Cursor));
        }
        catch (Exception ex) when (ex is StorageUnavailableException || (ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            return ConnectionProblems.Unavailable();
        }
    }

    internal static bool TryLimit(string? text, out int limit)
    {
        limit = DefaultLimit;
        return text is null || (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= ConnectionEventFeed.MaxLimit);
    }

    public sealed record EventList(IReadOnlyList<ConnectionEvent> Events, string? Cursor);
}

public static class EventProblems
{
    public static JsonResponse InvalidPaging() => JsonResponse.Problem(
        StatusCodes.Status400BadRequest,
        "Invalid paging",
        $"limit is a whole number from 1 to {ConnectionEventFeed.MaxLimit}; after is the cursor a previous page returned. Each may appear once.",
        "invalid-paging");

    public static JsonResponse InvalidEventId() => JsonResponse.Problem(
        StatusCodes.Status400BadRequest, "Invalid event id", "An event id is evt_ followed by 32 lowercase hex digits.", "invalid-event-id");

    public static JsonResponse NotFound(string eventId) => JsonResponse.Problem(
        StatusCodes.Status404NotFound, "Failed event not found", $"There is no failed event '{eventId}' (delivered, redelivered already, or never failed).", "event-not-found");
}
