using FreshBooksConnect.Connections;
using FreshBooksConnect.Functions.Http;
using FreshBooksConnect.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>
/// How many connections each token key id still protects (never a key): the rotation script waits here until the old key
/// protects nothing. The master key only: it tells how far a rotation is.
/// </summary>
public sealed class GetKeysFunction(TokenReencryption reencryption)
{
    [Function("GetKeys")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Admin, "get", Route = "keys")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        try
        {
            return JsonResponse.Ok(await reencryption.CountAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is StorageUnavailableException || (ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            return ConnectionProblems.Unavailable();
        }
    }
}
