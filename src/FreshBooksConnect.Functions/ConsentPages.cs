using FreshBooksConnect.Connections;
using FreshBooksConnect.Consent;
using FreshBooksConnect.Functions.Http;
using Microsoft.AspNetCore.Http;

namespace FreshBooksConnect.Functions;

/// <summary>What the customer's browser is shown by Start and Callback, one page per outcome.</summary>
public static class ConsentPages
{
    public static Page LinkRequired() => new(
        StatusCodes.Status400BadRequest,
        "This link is incomplete",
        "Connecting FreshBooks starts from the link your provider gave you. Open that link again, or ask them for a new one.");

    public static Page BrokenLink() => new(
        StatusCodes.Status403Forbidden,
        "This link is not valid",
        "The onboarding link was changed or damaged on its way. Ask your provider for a new link.");

    public static Page LinkExpired() => new(
        StatusCodes.Status410Gone,
        "This link has expired",
        "Onboarding links work for a limited time. Ask your provider for a new link.");

    /// <summary>A completed consent spent the link: the connection it made stands, and the customer is sent back to the app.</summary>
    public static Page LinkUsed(string? returnUrl) => new(
        StatusCodes.Status409Conflict,
        "This link was already used",
        "FreshBooks was already connected through this link, and a link works only once. Nothing was changed. If you need to connect again, ask your provider for a new link.",
        link: ReturnLink(returnUrl),
        linkText: "Return to the app");

    /// <summary>
    /// The page a link opens first: whose books go to whom, and a button that continues to FreshBooks. The button posts the link
    /// and the confirmation back to Start; the page may be redirected on to <paramref name="consentPage"/> only.
    /// </summary>
    public static Page Confirm(Wording words, string? linkToken, string confirmation, Uri consentPage)
    {
        var fields = new List<KeyValuePair<string, string>>();
        if (linkToken is not null)
        {
            fields.Add(new("link", linkToken));
        }

        fields.Add(new("confirmation", confirmation));
        var connectedTo = words.Tenant is null
            ? ""
            : $" Your FreshBooks account will be connected to {words.Tenant}{(words.Product is null ? "" : " in " + words.Product)}.";
        var warning = words.Tenant is null
            ? "If you didn't expect this link, close this window: nothing has been shared."
            : $"Continue only if {words.Tenant}{(words.Product is null ? "" : " in " + words.Product)} is yours. If you didn't expect this link, close this window: nothing has been shared.";
        return new Page(
            StatusCodes.Status200OK,
            words.Product is null ? "Connect FreshBooks" : $"Connect FreshBooks to {words.Product}",
            $"You'll be sent to FreshBooks to approve access for {words.Product ?? "the app that sent you this link"} to your books.{connectedTo}",
            warning,
            form: new PageForm("connect", fields, "Continue to FreshBooks", consentPage));
    }

    /// <summary>The page's button was pressed somewhere else than on the page: another site's form, or a browser without its cookie.</summary>
    public static Page NotConfirmed() => new(
        StatusCodes.Status403Forbidden,
        "Please continue from your link's page",
        "This request didn't come from the page your onboarding link opened in this browser, so for your safety nothing was started. Open your onboarding link again and continue from there.");

    /// <summary>The page's form arrived damaged: not a form, too large, too slow, or with a field twice.</summary>
    public static Page IncompleteForm(int status) => new(
        status,
        "This request is incomplete",
        "The page's form arrived damaged or incomplete, so nothing was started. Open your onboarding link again and continue from there.");

    public static Page TooManyStarts() => new(
        StatusCodes.Status429TooManyRequests,
        "Too many attempts",
        "This link was opened too many times in a short while from your network, so nothing was started. Please wait a minute and open it again.");

    public static Page Unavailable() => new(
        StatusCodes.Status503ServiceUnavailable,
        "Something went wrong on our side",
        "Connecting FreshBooks is not possible for a moment. Nothing was changed. Please try again in a few minutes from your onboarding link.");

    public static Page For(CallbackResult result, string productName)
    {
        var back = ReturnLink(result.ReturnUrl);
        return result switch
        {
            { Outcome: CallbackOutcome.Connected, Connection: { } connection } => Connected(connection, new Wording(productName, result.Tenant), back),
            { Outcome: CallbackOutcome.Declined } => new Page(
                StatusCodes.Status200OK,
                "FreshBooks was not connected",
                "You chose not to allow access, so nothing was connected and no data was shared. You can start again from your onboarding link at any time.",
                link: back,
                linkText: "Return to the app"),
            { Outcome: CallbackOutcome.ConsentFailed } => new Page(
                StatusCodes.Status502BadGateway,
                "FreshBooks could not complete the connection",
                "FreshBooks reported a problem with this request. Nothing was connected. Please start again from your onboarding link.",
                $"FreshBooks said: {result.Error}",
                back,
                "Return to the app"),
            { Outcome: CallbackOutcome.InvalidRequest } => new Page(
                StatusCodes.Status400BadRequest,
                "This address is incomplete",
                "The address FreshBooks sent you back to is missing information, so nothing was connected. Please start again from your onboarding link."),
            { Outcome: CallbackOutcome.ExpiredState } => new Page(
                StatusCodes.Status400BadRequest,
                "This sign-in has expired",
                "Connecting has to be finished within 10 minutes. Nothing was connected. Please start again from your onboarding link.",
                link: back,
                linkText: "Return to the app"),
            { Outcome: CallbackOutcome.AlreadyUsed } => new Page(
                StatusCodes.Status409Conflict,
                "This sign-in was already used",
                result.ConnectionId is null
                    ? "This page was already opened once, so it can't be used again. If FreshBooks isn't connected yet, start again from your onboarding link."
                    : "FreshBooks is already connected: this page was opened a second time (a refresh or the back button). Nothing changed.",
                link: back,
                linkText: "Return to the app"),
            { Outcome: CallbackOutcome.LinkUsed } => LinkUsed(result.ReturnUrl),
            { Outcome: CallbackOutcome.IdentityChangeRefused } => new Page(
                StatusCodes.Status409Conflict,
                "This is a different FreshBooks account",
                "This connection belongs to another FreshBooks account, so nothing was changed and the account you signed in with was not connected. Sign in to FreshBooks with the account that was connected before, or ask your provider for a link that allows changing accounts.",
                link: back,
                linkText: "Return to the app"),
            // One page for both, with no return link: it must not tell a stranger holding the address whether the consent
            // exists, completed or expired.
            { Outcome: CallbackOutcome.BrowserMismatch or CallbackOutcome.UnknownState } => new Page(
                StatusCodes.Status403Forbidden,
                "Please finish in the same browser",
                "This sign-in was started in a different browser, its cookie was blocked, or it is no longer known. For your safety nothing was connected. Open your onboarding link again in this browser."),
            { Outcome: CallbackOutcome.CodeRejected } => new Page(
                StatusCodes.Status400BadRequest,
                "This sign-in took too long",
                "FreshBooks' approval is valid for 5 minutes and only once, and it was no longer accepted. Nothing was connected. Please start again from your onboarding link.",
                link: back,
                linkText: "Return to the app"),
            { Outcome: CallbackOutcome.AppRejected } => new Page(
                StatusCodes.Status502BadGateway,
                "FreshBooks refused this app",
                "FreshBooks did not accept this app's credentials, so nothing was connected. Please let your provider know; they need to check the app's FreshBooks settings."),
            { Outcome: CallbackOutcome.Unavailable } => Unavailable(),
            _ => new Page(
                StatusCodes.Status503ServiceUnavailable,
                "FreshBooks is not answering",
                "FreshBooks could not be reached or had a problem, so nothing was connected. Please try again in a few minutes from your onboarding link.",
                link: back,
                linkText: "Return to the app"),
        };
    }

    private static Page Connected(Connection connection, Wording words, Uri? back)
    {
        var who = connection.Identity.DisplayName is { Length: > 0 } name ? name : "Your FreshBooks account";
        var email = connection.Identity.Email is { Length: > 0 } e ? $" ({e})" : "";
        var businesses = connection.Identity.Businesses.Select(b => b.Name).Where(n => !string.IsNullOrWhiteSpace(n)).ToList();
        var what = businesses.Count switch
        {
            0 => "connected FreshBooks",
            1 => $"connected {businesses[0]}",
            _ => $"connected {string.Join(", ", businesses.Take(businesses.Count - 1))} and {businesses[^1]}",
        };
        what += (words.Tenant, words.Product) switch
        {
            ({ } tenant, { } product) => $" to {tenant} in {product}",
            ({ } tenant, null) => $" to {tenant}",
            (null, { } product) => $" to {product}",
            _ => "",
        };

        // A name like "Analytical Engines Ltd." ends the sentence itself.
        what = what.EndsWith('.') ? what : what + ".";
        return new Page(
            StatusCodes.Status200OK,
            "FreshBooks is connected",
            $"{who}{email} {what}",
            "The connection stays active: you don't need to do anything else. You can close this window.",
            back,
            "Return to the app");
    }

    /// <summary>
    /// How the pages name the product and the tenant: the product's name as configured (null when not set), and the tenant's name
    /// in quotes, or its id as "account ..." when the link carried no name. The page encodes both.
    /// </summary>
    public sealed record Wording
    {
        public Wording(string productName, TenantLabel? tenant)
        {
            Product = string.IsNullOrWhiteSpace(productName) ? null : productName.Trim();
            Tenant = tenant switch
            {
                null => null,
                { IsNamed: true } => $"“{tenant.Name}”",
                _ => $"account “{tenant.Name}”",
            };
        }

        public string? Product { get; }

        public string? Tenant { get; }
    }

    /// <summary>Only an http(s) URL ever becomes a link's href (the service checked it against the allow-list already).</summary>
    private static Uri? ReturnLink(string? returnUrl) =>
        Uri.TryCreate(returnUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) ? uri : null;
}
