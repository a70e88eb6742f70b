using System.Buffers.Text;
using System.Globalization;
using System.Text;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Functions.Http;
using FreshBooksConnect.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>All connections, a page at a time (<c>?pageSize=1..200&amp;continuationToken=...</c>); no tokens, none even read.</summary>
public sealed class ListConnectionsFunction(IConnectionStore connections)
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 200;

    [Function("ListConnections")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "connections")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        if (!RequestInput.TryGetSingle(request.Query, "pageSize", 3, out var sizeText)
            || !RequestInput.TryGetSingle(request.Query, "continuationToken", 2048, out var continuation))
        {
            return InvalidPaging();
        }

        var pageSize = DefaultPageSize;
        if (sizeText is not null && (!int.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > MaxPageSize))
        {
            return InvalidPaging();
        }

        string? storageToken = null;
        if (continuation is not null)
        {
            // The storage continuation travels base64url-wrapped, so a client treats it as opaque and a damaged one is caught here.
            try
            {
                storageToken = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(continuation));
            }
            catch (FormatException)
            {
                return InvalidPaging();
            }
        }

        ConnectionSummaryPage? page;
        try
        {
            page = await connections.ListSummariesAsync(pageSize, storageToken, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is StorageUnavailableException || (ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            return ConnectionProblems.Unavailable();
        }

        if (page is null)
        {
            return InvalidPaging();
        }

        var next = page.ContinuationToken is null ? null : Base64Url.EncodeToString(Encoding.UTF8.GetBytes(page.ContinuationToken));
        return JsonResponse.Ok(new ConnectionList(page.Connections.Select(ConnectionView.From).ToList(), next));
    }

    private static JsonResponse InvalidPaging() => JsonResponse.Problem(
        StatusCodes.Status400BadRequest,
        "Invalid paging",
        $"pageSize is a whole number from 1 to {MaxPageSize}; continuationToken is the value a previous page returned. Each may appear once.",
        "invalid-paging");

    public sealed record ConnectionList(IReadOnlyList<ConnectionView> Connections, string? ContinuationToken);
}
