using FreshBooksConnect.Consent;
using FreshBooksConnect.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>The onboarding link a SaaS hands its customers: sends the browser to FreshBooks' consent page.</summary>
public sealed class StartFunction(ConsentService consent, StartThrottle throttle)
{
    [Function("Start")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "connect")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        if (!throttle.TryEnter(ClientAddress(request)))
        {
            return ConsentPages.TooManyStarts();
        }

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

    /// <summary>
    /// The client as the front end saw it: in Azure TLS ends at a front end that appends the client's address to
    /// <c>X-Forwarded-For</c>, so the last entry is the one no client can choose; without the header, the connection's peer.
    /// </summary>
    private static string ClientAddress(HttpRequest request)
    {
        var forwarded = request.Headers["X-Forwarded-For"].ToString();
        var last = forwarded.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        if (last is not null && System.Net.IPEndPoint.TryParse(last, out var endPoint))
        {
            return endPoint.Address.ToString();
        }

        return request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
    }
}
