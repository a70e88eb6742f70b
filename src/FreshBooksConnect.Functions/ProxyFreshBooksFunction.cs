using FreshBooksConnect.Functions.Http;
using FreshBooksConnect.Proxy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>
/// Calls FreshBooks' API for a connection with its token, which the SaaS never holds: <c>/api/connections/{id}/freshbooks/{path}</c>
/// is forwarded to <c>FreshBooks__ApiUrl/{path}</c>, request and answer streamed, a 401 renewed and sent again once.
/// </summary>
public sealed class ProxyFreshBooksFunction(FreshBooksProxy proxy)
{
    [Function("ProxyFreshBooks")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", "post", "put", "patch", "delete", Route = "connections/{id}/freshbooks/{**path}")] HttpRequest request,
        string id,
        string? path,
        CancellationToken cancellationToken)
    {
        if (!RequestInput.IsConnectionId(id))
        {
            return ConnectionProblems.InvalidId();
        }

        var result = await proxy.ForwardAsync(request.HttpContext, id, path, cancellationToken).ConfigureAwait(false);
        return result switch
        {
            // This instance is stopping while its caller waits and nothing has been written: ask it to send again (another
            // instance takes it), rather than end the call with an empty 200.
            { Outcome: ProxyOutcome.Canceled } when !request.HttpContext.RequestAborted.IsCancellationRequested && !request.HttpContext.Response.HasStarted =>
                JsonResponse.Problem(
                    StatusCodes.Status503ServiceUnavailable,
                    "This instance is stopping",
                    "The call was stopped before FreshBooks answered because this instance of the app is shutting down. Send the request again.",
                    "instance-stopping",
                    TimeSpan.FromSeconds(1)),
            { Outcome: ProxyOutcome.Forwarded or ProxyOutcome.Canceled } => new EmptyResult(),
            { Outcome: ProxyOutcome.NoToken, Token: { } token } => TokenResponses.For(id, token),
            { Outcome: ProxyOutcome.PathNotAllowed } => JsonResponse.Problem(
                StatusCodes.Status404NotFound,
                "Not a FreshBooks API path the proxy forwards",
                "The proxy forwards accounting/account/{accountId}/…, payments/account/{accountId}/…, projects/business/{businessId}/…, timetracking/business/{businessId}/…, comments/business/{businessId}/… and auth/api/v1/users/me, in plain path segments.",
                "freshbooks-path-not-allowed"),
            { Outcome: ProxyOutcome.NotConnected } => JsonResponse.Problem(
                StatusCodes.Status403Forbidden,
                "Account or business not connected",
                $"The path names an account or business that connection '{id}' did not connect. Its accountId and businessId values are in GET /api/connections/{id}.",
                "freshbooks-account-not-connected"),
            { Outcome: ProxyOutcome.TooManyConcurrent } => JsonResponse.Problem(
                StatusCodes.Status429TooManyRequests,
                "Too many calls for this connection at once",
                "This connection has as many proxied calls under way on this instance as Proxy__MaxConcurrentPerConnection allows. Try again after the Retry-After delay.",
                "proxy-concurrency-limit",
                TimeSpan.FromSeconds(1)),
            { Outcome: ProxyOutcome.NotRetried } => JsonResponse.Problem(
                StatusCodes.Status503ServiceUnavailable,
                "Request not sent again",
                "FreshBooks refused the access token (401) and it has been renewed, but this request's body was larger than Proxy__RetryBodyLimit (or of unknown length), so it was streamed and not kept: send the request again.",
                "proxy-request-not-retried",
                TimeSpan.FromSeconds(1)),
            { Outcome: ProxyOutcome.TimedOut } => JsonResponse.Problem(
                StatusCodes.Status504GatewayTimeout,
                "FreshBooks did not answer in time",
                "FreshBooks did not answer within FreshBooks__Timeout. The request may or may not have been processed.",
                "freshbooks-timeout"),
            _ => JsonResponse.Problem(
                StatusCodes.Status502BadGateway,
                "FreshBooks could not be reached",
                "The call to FreshBooks failed before an answer arrived. The request may or may not have been processed.",
                "freshbooks-unreachable"),
        };
    }
}
