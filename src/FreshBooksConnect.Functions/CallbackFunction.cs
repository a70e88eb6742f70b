using FreshBooksConnect.Consent;
using FreshBooksConnect.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Functions;

/// <summary>FreshBooks sends the customer back here with a code (or an error): the connection is made or refused.</summary>
public sealed class CallbackFunction(ConsentService consent, IOptions<OnboardingOptions> onboarding)
{
    [Function("Callback")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "callback")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var query = request.Query;
        if (!RequestInput.TryGetSingle(query, "state", 64, out var state)
            || !RequestInput.TryGetSingle(query, "code", 512, out var code)
            || !RequestInput.TryGetSingle(query, "error", 200, out var error)
            || !RequestInput.TryGetSingle(query, "error_description", 1000, out var description))
        {
            return ConsentPages.For(new CallbackResult(CallbackOutcome.InvalidRequest), onboarding.Value.ProductName);
        }

        // The consent cookie is left to lapse with its state (Max-Age): it is what lets this browser, and only this one, be told
        // what became of the consent when the page is opened again.
        var result = await consent.CompleteAsync(new CallbackRequest(state, code, error, description, name => request.Cookies[name]), cancellationToken).ConfigureAwait(false);
        return ConsentPages.For(result, onboarding.Value.ProductName);
    }
}
