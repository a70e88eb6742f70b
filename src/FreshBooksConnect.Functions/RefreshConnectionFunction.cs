using FreshBooksConnect.Connections;
using FreshBooksConnect.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>
/// FreshBooks answered 401 to a token: post it here. Refreshes only if it is still the stored token, else returns the newer one,
/// so a burst of 401s causes one refresh.
/// </summary>
public sealed class RefreshConnectionFunction(ConnectionTokenService tokens)
{
    private const int MaxTokenLength = 4096;

    [Function("RefreshConnection")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "connections/{id}/refresh")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        if (!RequestInput.IsConnectionId(id))
        {
            return ConnectionProblems.InvalidId();
        }

        var (body, problem) = await RequestInput.ReadJsonAsync<RejectedToken>(request, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (string.IsNullOrEmpty(body!.AccessToken) || body.AccessToken.Length > MaxTokenLength)
        {
            return JsonResponse.Problem(StatusCodes.Status400BadRequest, "accessToken required", "Send {\"accessToken\": \"...\"}: the access token FreshBooks rejected with 401.", "access-token-required");
        }

        var answer = await tokens.RefreshRejectedAsync(id, body.AccessToken, cancellationToken).ConfigureAwait(false);
        return TokenResponses.For(id, answer);
    }

    public sealed record RejectedToken(string? AccessToken);
}
