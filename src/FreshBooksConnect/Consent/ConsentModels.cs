using FreshBooksConnect.Connections;

namespace FreshBooksConnect.Consent;

/// <summary>The cookie that ties a pending consent to the browser that started it.</summary>
public sealed record BrowserBinding(string CookieName, string Value, TimeSpan MaxAge, bool Secure);

public enum StartOutcome
{
    /// <summary>Send the browser to <see cref="StartResult.ConsentUrl"/> with <see cref="StartResult.Binding"/> set.</summary>
    Redirect,

    /// <summary>
    /// Show the page that names the product and <see cref="StartResult.Tenant"/>, with <see cref="StartResult.Binding"/> set: its
    /// button continues only with the binding's value, which a page of another site cannot know. Nothing was written.
    /// </summary>
    Confirm,

    /// <summary>A continue that did not come from this app's page in this browser (cross-site, or without its cookie); nothing was started.</summary>
    NotConfirmed,
    LinkRequired,
    LinkInvalid,
    LinkExpired,

    /// <summary>A completed consent already spent this link; <see cref="StartResult.ReturnUrl"/> leads back to the app.</summary>
    LinkUsed,

    /// <summary>Storage failed; nothing was started.</summary>
    Unavailable,
}

/// <summary>Whom a consent connects FreshBooks to, as the customer's pages name it.</summary>
/// <param name="Name">The name the link carries (<c>tenantName</c>), or else its tenant id.</param>
/// <param name="IsNamed">The link carried a name, rather than the id standing in for one.</param>
public sealed record TenantLabel(string Name, bool IsNamed)
{
    public static TenantLabel? For(string? tenantId, string? tenantName) =>
        tenantName is not null ? new TenantLabel(tenantName, true)
        : tenantId is not null ? new TenantLabel(tenantId, false)
        : null;
}

public sealed record StartResult(
    StartOutcome Outcome,
    Uri? ConsentUrl = null,
    BrowserBinding? Binding = null,
    string? ReturnUrl = null,
    TenantLabel? Tenant = null,
    string? CookieToClear = null);

/// <summary>
/// The customer pressed the page's button: the link it carries, the value the page's form held, a way to read the browser's
/// cookies (the page set one whose value must equal the form's), and whether the browser said the request came from this app's
/// own pages (false when it named another site as the request's origin).
/// </summary>
public sealed record ContinueRequest(string? LinkToken, string? Confirmation, Func<string, string?> ReadCookie, bool FromThisSite);

/// <summary>What FreshBooks sent back, and a way to read the browser's cookies.</summary>
public sealed record CallbackRequest(string? State, string? Code, string? Error, string? ErrorDescription, Func<string, string?> ReadCookie);

public enum CallbackOutcome
{
    Connected,

    /// <summary>The customer clicked Deny (<c>error=access_denied</c>).</summary>
    Declined,

    /// <summary>FreshBooks reported another error on the redirect.</summary>
    ConsentFailed,

    /// <summary>State or code missing or malformed.</summary>
    InvalidRequest,

    /// <summary>No consent has this state; the browser sees the <see cref="BrowserMismatch"/> page.</summary>
    UnknownState,
    ExpiredState,

    /// <summary>This state was already used: a refreshed page, the back button, or a replay.</summary>
    AlreadyUsed,

    /// <summary>The onboarding link was spent by another consent (or one is completing through it right now); nothing was exchanged.</summary>
    LinkUsed,

    /// <summary>Another FreshBooks identity than the connection's, and the link does not allow a change; nothing was stored.</summary>
    IdentityChangeRefused,

    /// <summary>
    /// The callback came without the cookie of the browser that started the consent (login CSRF, or a replay by someone who
    /// holds only the address). Checked before anything else about the state, so it says nothing about the consent.
    /// </summary>
    BrowserMismatch,

    /// <summary>FreshBooks refused the code: expired (over 5 minutes), used or unknown.</summary>
    CodeRejected,

    /// <summary>FreshBooks refused this app's credentials: the deployment is misconfigured.</summary>
    AppRejected,

    /// <summary>FreshBooks could not be reached or failed; nothing was stored.</summary>
    FreshBooksUnavailable,

    /// <summary>This app's storage failed; the customer can start again shortly.</summary>
    Unavailable,
}

public sealed record CallbackResult(
    CallbackOutcome Outcome,
    Connection? Connection = null,
    string? ReturnUrl = null,
    string? Error = null,
    string? ConnectionId = null,
    TenantLabel? Tenant = null);
