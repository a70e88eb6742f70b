using FreshBooksConnect.Consent;
using FreshBooksConnect.Functions.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

/// <summary>The SaaS backend asks for a tenant's onboarding link: a signed, expiring, single-use link to Start.</summary>
public sealed class CreateOnboardingLinkFunction(OnboardingLinks links)
{
    [Function("CreateOnboardingLink")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "onboarding-links")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var (body, problem) = await RequestInput.ReadJsonAsync<LinkBody>(request, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var link = links.Create(new LinkRequest(body!.TenantId, body.ReturnUrl, body.AllowIdentityChange ?? false, body.TenantName));
        return link switch
        {
            { Outcome: LinkCreationOutcome.Created, Url: { } url, ConnectionId: { } connectionId, ExpiresAt: { } expiresAt } =>
                JsonResponse.Ok(new LinkResponse(url.AbsoluteUri, connectionId, expiresAt)),
            { Outcome: LinkCreationOutcome.InvalidTenant } => JsonResponse.Problem(
                StatusCodes.Status400BadRequest,
                "Invalid tenantId",
                "tenantId is required: 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit.",
                "invalid-tenant"),
            { Outcome: LinkCreationOutcome.InvalidTenantName } => JsonResponse.Problem(
                StatusCodes.Status400BadRequest,
                "Invalid tenantName",
                $"tenantName, when given, is the tenant's name as your customer knows it: 1-{OnboardingLinks.MaxTenantNameLength} characters, not only spaces, without control or formatting characters.",
                "invalid-tenant-name"),
            { Outcome: LinkCreationOutcome.TooLong } => JsonResponse.Problem(
                StatusCodes.Status400BadRequest,
                "Link too long",
                $"returnUrl and tenantName together make the link longer than the {OnboardingLinks.MaxTokenLength} characters Start accepts: shorten the returnUrl.",
                "link-too-long"),
            _ => JsonResponse.Problem(
                StatusCodes.Status400BadRequest,
                "returnUrl not allowed",
                "returnUrl must be an absolute http(s) URL under one of the prefixes in Onboarding__AllowedReturnUrls (whole path segments; no encoded slashes or dot segments).",
                "return-url-not-allowed"),
        };
    }

    /// <summary><c>{"tenantId", "tenantName"?, "returnUrl"?, "allowIdentityChange"?}</c>.</summary>
    public sealed record LinkBody(string? TenantId, string? ReturnUrl, bool? AllowIdentityChange, string? TenantName = null);

    public sealed record LinkResponse(string Url, string ConnectionId, DateTimeOffset ExpiresAt);
}
