using Microsoft.Extensions.Options;

namespace FreshBooksConnect.FreshBooks;

/// <summary>
/// The FreshBooks app this deployment acts as. Section <c>FreshBooks</c>: app settings
/// <c>FreshBooks__ClientId</c>, <c>FreshBooks__ClientSecret</c>, <c>FreshBooks__RedirectUri</c>,
/// optional <c>FreshBooks__Scopes</c>, <c>FreshBooks__AuthUrl</c>, <c>FreshBooks__ApiUrl</c>, <c>FreshBooks__Timeout</c>,
/// <c>FreshBooks__UsePkce</c>.
/// </summary>
public sealed class FreshBooksOptions
{
    public const string SectionName = "FreshBooks";

    /// <summary>The consent page (<c>FreshBooks__AuthUrl</c>).</summary>
    public Uri AuthUrl { get; set; } = new("https://auth.freshbooks.com/oauth/authorize/");

    /// <summary>The API host that serves the token endpoint, <c>users/me</c> and the accounting API (<c>FreshBooks__ApiUrl</c>).</summary>
    public Uri ApiUrl { get; set; } = new("https://api.freshbooks.com");

    /// <summary>The app's client id from the FreshBooks developer portal (<c>FreshBooks__ClientId</c>).</summary>
    public string ClientId { get; set; } = "";

    /// <summary>The app's client secret (<c>FreshBooks__ClientSecret</c>; a Key Vault reference in Azure).</summary>
    public string ClientSecret { get; set; } = "";

    /// <summary>This app's <c>/api/callback</c> URL exactly as registered at FreshBooks (<c>FreshBooks__RedirectUri</c>).</summary>
    public Uri? RedirectUri { get; set; }

    /// <summary>Space-separated scopes to ask for; empty asks for the app's registered scopes (<c>FreshBooks__Scopes</c>).</summary>
    public string? Scopes { get; set; }

    /// <summary>How long one call to FreshBooks may take (<c>FreshBooks__Timeout</c>).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Send a PKCE S256 <c>code_challenge</c> with each consent and its <c>code_verifier</c> with the code exchange
    /// (<c>FreshBooks__UsePkce</c>). Off by default: FreshBooks does not document PKCE.
    /// </summary>
    public bool UsePkce { get; set; }
}

internal sealed class FreshBooksOptionsValidator : IValidateOptions<FreshBooksOptions>
{
    public ValidateOptionsResult Validate(string? name, FreshBooksOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            failures.Add("FreshBooks__ClientId is required: the client id of your FreshBooks app.");
        }

        if (string.IsNullOrWhiteSpace(options.ClientSecret))
        {
            failures.Add("FreshBooks__ClientSecret is required: the client secret of your FreshBooks app.");
        }

        if (options.RedirectUri is null)
        {
            failures.Add("FreshBooks__RedirectUri is required: this app's /api/callback URL as registered at FreshBooks.");
        }
        else if (!options.RedirectUri.IsAbsoluteUri || !IsHttpsOrLoopback(options.RedirectUri) || options.RedirectUri.Query.Length > 0 || options.RedirectUri.Fragment.Length > 0)
        {
            failures.Add("FreshBooks__RedirectUri must be an absolute https URL without query or fragment (http is allowed only for localhost).");
        }

        if (!IsHttpUrl(options.AuthUrl) || !IsHttpsOrLoopback(options.AuthUrl))
        {
            failures.Add("FreshBooks__AuthUrl must be an absolute https URL (http is allowed only for localhost, e.g. the emulator): tokens and the client secret travel to it.");
        }

        if (!IsHttpUrl(options.ApiUrl) || !IsHttpsOrLoopback(options.ApiUrl))
        {
            failures.Add("FreshBooks__ApiUrl must be an absolute https URL (http is allowed only for localhost, e.g. the emulator): tokens and the client secret travel to it.");
        }

        if (options.Timeout <= TimeSpan.Zero)
        {
            failures.Add("FreshBooks__Timeout must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsHttpUrl(Uri? uri) =>
        uri is { IsAbsoluteUri: true } && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    internal static bool IsHttpsOrLoopback(Uri uri) =>
        uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback);
}
