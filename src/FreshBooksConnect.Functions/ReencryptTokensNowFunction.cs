using FreshBooksConnect.Connections;
using FreshBooksConnect.Functions.Http;
using FreshBooksConnect.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>A re-encryption pass now, for the rotation script (the timer runs one every 15 minutes anyway). The master key only.</summary>
public sealed class ReencryptTokensNowFunction(TokenReencryption reencryption)
{
    [Function("ReencryptTokensNow")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "keys/reencrypt")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        try
        {
            return JsonResponse.Ok(await reencryption.RunAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is StorageUnavailableException || (ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // Rows rewritten before the stop stay rewritten; the next pass carries on from what is left.
            return JsonResponse.Problem(
                StatusCodes.Status503ServiceUnavailable,
                "Re-encryption stopped",
                "Storage did not answer, or this instance is stopping. Rows already rewritten stay so; run the pass again after the Retry-After delay.",
                "unavailable",
                TimeSpan.FromSeconds(5));
        }
    }
}
