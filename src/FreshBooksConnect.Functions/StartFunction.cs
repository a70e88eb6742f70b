using FreshBooksConnect.Consent;
using FreshBooksConnect.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>The onboarding link a SaaS hands its customers: sends the browser to FreshBooks' consent page.</summary>
public sealed class StartFunction(ConsentService consent)
{
    [Function("Start")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "connect")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        if (!RequestInput.TryGetSingle(request.Query, "link", OnboardingLinks.MaxTokenLength, out var link))
        {
            return ConsentPages.BrokenLink();
        }

        var result = await consent.StartAsync(link, cancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case { Outcome: StartOutcome.Redirect, ConsentUrl: { } consentUrl, Binding: { } binding }:
                request.HttpContext.Response.Cookies.Append(binding.CookieName, binding.Value, new CookieOptions
                {
                    Path = "/",
                    HttpOnly = true,
                    Secure = binding.Secure,
                    SameSite = SameSiteMode.Lax,
                    MaxAge = binding.MaxAge,
                    IsEssential = true,
                });
                return new Redirect(consentUrl);
            case { Outcome: StartOutcome.LinkRequired }:
                return ConsentPages.LinkRequired();
            case { Outcome: StartOutcome.LinkUsed }:
                return ConsentPages.LinkUsed(result.ReturnUrl);
            case { Outcome: StartOutcome.LinkExpired }:
                return ConsentPages.LinkExpired();
            case { Outcome: StartOutcome.Unavailable }:
                return ConsentPages.Unavailable();
            default:
                return ConsentPages.BrokenLink();
        }
    }
}
