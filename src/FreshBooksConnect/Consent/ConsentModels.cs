using FreshBooksConnect.Connections;

namespace FreshBooksConnect.Consent;

/// <summary>The cookie that ties a pending consent to the browser that started it.</summary>
public sealed record BrowserBinding(string CookieName, string Value, TimeSpan MaxAge, bool Secure);

public enum StartOutcome
{
    /// <summary>Send the browser to <see cref="StartResult.ConsentUrl"/> with <see cref="StartResult.Binding"/> set.</summary>
    Redirect,
    LinkRequired,
    LinkInvalid,
    LinkExpired,

    /// <summary>A completed consent already spent this link; <see cref="StartResult.ReturnUrl"/> leads back to the app.</summary>
    LinkUsed,

    /// <summary>Storage failed; nothing was started.</summary>
    Unavailable,
}

public sealed record StartResult(StartOutcome Outcome, Uri? ConsentUrl = null, BrowserBinding? Binding = null, string? ReturnUrl = null);

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
    string? ConnectionId = null);
