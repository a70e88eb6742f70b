using FreshBooksConnect.Connections;
using FreshBooksConnect.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>A valid access token for one connection, renewed inline when it is about to expire.</summary>
public sealed class GetConnectionTokenFunction(ConnectionTokenService tokens)
{
    [Function("GetConnectionToken")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "connections/{id}/token")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        if (!RequestInput.IsConnectionId(id))
        {
            return ConnectionProblems.InvalidId();
        }

        var answer = await tokens.GetTokenAsync(id, cancellationToken).ConfigureAwait(false);
        return TokenResponses.For(id, answer);
    }
}
