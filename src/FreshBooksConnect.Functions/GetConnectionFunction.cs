using FreshBooksConnect.Connections;
using FreshBooksConnect.Functions.Http;
using FreshBooksConnect.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>One connection's status, identity, businesses, expiry and renewal history; no tokens.</summary>
public sealed class GetConnectionFunction(IConnectionStore connections)
{
    [Function("GetConnection")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "connections/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        if (!RequestInput.IsConnectionId(id))
        {
            return ConnectionProblems.InvalidId();
        }

        try
        {
            var connection = await connections.GetAsync(id, cancellationToken).ConfigureAwait(false);
            return connection is null ? ConnectionProblems.NotFound(id) : JsonResponse.Ok(ConnectionView.From(connection));
        }
        catch (Exception ex) when (ex is StorageUnavailableException || (ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            return ConnectionProblems.Unavailable();
        }
    }
}
