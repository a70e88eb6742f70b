using FreshBooksConnect.Consent;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Functions;

/// <summary>
/// The onboarding link a SaaS hands its customers. GET shows the page that names the product and the tenant (or, with the page
/// off, sends the browser to FreshBooks at once); the page's button POSTs here and is sent to FreshBooks' consent page.
/// </summary>
public sealed class StartFunction(ConsentService consent, StartThrottle throttle, IOptions<OnboardingOptions> onboarding, IOptions<FreshBooksOptions> freshBooks)
{
    /// <summary>The page's form is two short fields: anything larger is not the page's.</summary>
    private const int MaxFormBytes = 4096;

    [Function("Start")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", Route = "connect")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        if (!throttle.TryEnter(ClientAddress(request)))
        {
            return ConsentPages.TooManyStarts();
        }

        string? link;
        StartResult result;
        if (HttpMethods.IsPost(request.Method))
        {
            var (form, refusedWith) = await RequestInput.ReadFormAsync(request, MaxFormBytes, cancellationToken).ConfigureAwait(false);
            if (form is null)
            {
                return ConsentPages.IncompleteForm(refusedWith ?? StatusCodes.Status400BadRequest);
            }

            if (!RequestInput.TryGetSingle(form, "link", OnboardingLinks.MaxTokenLength, out link)
                || !RequestInput.TryGetSingle(form, "confirmation", 64, out var confirmation))
            {
                return ConsentPages.IncompleteForm(StatusCodes.Status400BadRequest);
            }

            result = await consent.ContinueAsync(new ContinueRequest(link, confirmation, name => request.Cookies[name], IsFromThisSite(request)), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            if (!RequestInput.TryGetSingle(request.Query, "link", OnboardingLinks.MaxTokenLength, out link))
            {
                return ConsentPages.BrokenLink();
            }

            result = await consent.StartAsync(link, cancellationToken).ConfigureAwait(false);
        }

        if (result.CookieToClear is { } spent)
        {
            request.HttpContext.Response.Cookies.Delete(spent, new CookieOptions { Path = "/", Secure = spent.StartsWith("__Host-", StringComparison.Ordinal), HttpOnly = true, SameSite = SameSiteMode.Strict });
        }

        switch (result)
        {
            case { Outcome: StartOutcome.Redirect, ConsentUrl: { } consentUrl, Binding: { } binding }:
                SetCookie(request, binding, SameSiteMode.Lax);
                return new Redirect(consentUrl);
            case { Outcome: StartOutcome.Confirm, Binding: { } confirmation }:
                // Strict: the cookie goes only with requests this app's own pages make, never with another site's form.
                SetCookie(request, confirmation, SameSiteMode.Strict);
                return ConsentPages.Confirm(new ConsentPages.Wording(onboarding.Value.ProductName, result.Tenant), link, confirmation.Value, freshBooks.Value.AuthUrl);
            case { Outcome: StartOutcome.NotConfirmed }:
                return ConsentPages.NotConfirmed();
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

    private static void SetCookie(HttpRequest request, BrowserBinding binding, SameSiteMode sameSite) =>
        request.HttpContext.Response.Cookies.Append(binding.CookieName, binding.Value, new CookieOptions
        {
            Path = "/",
            HttpOnly = true,
            Secure = binding.Secure,
            SameSite = sameSite,
            MaxAge = binding.MaxAge,
            IsEssential = true,
        });

    /// <summary>
    /// What the browser says of where the POST came from: <c>Sec-Fetch-Site</c> must be <c>same-origin</c> and <c>Origin</c> this
    /// app's, where sent. <c>Origin: null</c> is what a browser sends for a form on a no-referrer page such as ours, so it is let
    /// through; the page's confirmation cookie is what every browser must show.
    /// </summary>
    private bool IsFromThisSite(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        var origin = request.Headers.Origin.ToString();
        var ownOrigin = freshBooks.Value.RedirectUri?.GetLeftPart(UriPartial.Authority);
        return (site.Length == 0 || site == "same-origin")
            && (origin.Length == 0 || origin == "null" || string.Equals(origin, ownOrigin, StringComparison.OrdinalIgnoreCase));
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
