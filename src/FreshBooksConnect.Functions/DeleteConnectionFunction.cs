using FreshBooksConnect.Connections;
using FreshBooksConnect.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>Disconnects a customer: revokes the grant at FreshBooks, then deletes the connection.</summary>
public sealed class DeleteConnectionFunction(ConnectionRemoval removal)
{
    [Function("DeleteConnection")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = "connections/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        if (!RequestInput.IsConnectionId(id))
        {
            return ConnectionProblems.InvalidId();
        }

        return await removal.RemoveAsync(id, cancellationToken).ConfigureAwait(false) switch
        {
            RemovalOutcome.Removed => new NoContentResponse(),
            RemovalOutcome.NotFound => ConnectionProblems.NotFound(id),
            _ => JsonResponse.Problem(
                StatusCodes.Status503ServiceUnavailable,
                "Connection not removed yet",
                "FreshBooks could not revoke the grant just now, a renewal was running, or storage did not answer. Send DELETE again shortly: a removal that stopped half-way is finished then, and serves no token meanwhile.",
                "removal-unavailable",
                TimeSpan.FromSeconds(30)),
        };
    }
}
