using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Consent;

/// <summary>
/// How customers reach the consent page. Section <c>Onboarding</c>: <c>Onboarding__SigningKey</c> (base64 of at least 32
/// random bytes; signs onboarding links), <c>Onboarding__LinkLifetime</c> (default 1 hour, at most 7 days), <c>Onboarding__AllowAnonymous</c>
/// (default false: Start needs a signed link), <c>Onboarding__AllowedReturnUrls</c> (semicolon-separated URL prefixes a link may
/// send the customer back to), <c>Onboarding__StateLifetime</c> (default 10 minutes), <c>Onboarding__StartsPerMinute</c> (default 30
/// per client address), <c>Onboarding__ProductName</c> (the SaaS product's name on the customer's pages; empty: generic wording),
/// <c>Onboarding__ConfirmPage</c> (default true: Start first shows a page naming the product and the tenant).
/// </summary>
public sealed class OnboardingOptions
{
    public const string SectionName = "Onboarding";

    public string SigningKey { get; set; } = "";

    /// <summary>The longest a link may live: a link that leaks is of use only until it expires or a consent spends it.</summary>
    public static readonly TimeSpan MaxLinkLifetime = TimeSpan.FromDays(7);

    public TimeSpan LinkLifetime { get; set; } = TimeSpan.FromHours(1);

    public bool AllowAnonymous { get; set; }

    public string AllowedReturnUrls { get; set; } = "";

    public TimeSpan StateLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Consents one client address may start in any minute (<c>Onboarding__StartsPerMinute</c>); more get a 429 page.</summary>
    public int StartsPerMinute { get; set; } = 30;

    /// <summary>The longest product name, in characters.</summary>
    public const int MaxProductNameLength = 100;

    /// <summary>
    /// The SaaS product's name (<c>Onboarding__ProductName</c>), shown on the customer's pages ("approve access for Acme Books");
    /// empty, the pages speak of "the app that sent you this link".
    /// </summary>
    public string ProductName { get; set; } = "";

    /// <summary>
    /// Start first shows a page that names the product and the tenant, and continues to FreshBooks only from its button
    /// (<c>Onboarding__ConfirmPage</c>, default true). Off, Start sends the browser to FreshBooks at once: for a SaaS that
    /// opens the link from its own signed-in page, where the customer already sees whose account it is.
    /// </summary>
    public bool ConfirmPage { get; set; } = true;

    internal IReadOnlyList<Uri> ReturnUrlPrefixes =>
        AllowedReturnUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) ? uri : null)
            .OfType<Uri>()
            .ToList();
}

internal sealed class OnboardingOptionsValidator : IValidateOptions<OnboardingOptions>
{
    public ValidateOptionsResult Validate(string? name, OnboardingOptions options)
    {
        var failures = new List<string>();
        if (!OnboardingLinks.TryDecodeKey(options.SigningKey, out _))
        {
            failures.Add("Onboarding__SigningKey is required: base64 of at least 32 random bytes (openssl rand -base64 32). It signs onboarding links.");
        }

        if (options.LinkLifetime <= TimeSpan.Zero || options.LinkLifetime > OnboardingOptions.MaxLinkLifetime)
        {
            failures.Add("Onboarding__LinkLifetime must be between 0 and 7 days (7.00:00:00).");
        }

        if (options.StateLifetime <= TimeSpan.Zero || options.StateLifetime > TimeSpan.FromHours(1))
        {
            failures.Add("Onboarding__StateLifetime must be between 0 and 1 hour.");
        }

        if (options.StartsPerMinute is < 1 or > 1_000_000)
        {
            failures.Add("Onboarding__StartsPerMinute must be a whole number from 1 to 1000000.");
        }

        if (options.ProductName.Length > OnboardingOptions.MaxProductNameLength || options.ProductName.Any(char.IsControl))
        {
            failures.Add($"Onboarding__ProductName must be at most {OnboardingOptions.MaxProductNameLength} characters, without control characters.");
        }

        foreach (var url in options.AllowedReturnUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && !(uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)))
            {
                failures.Add($"Onboarding__AllowedReturnUrls: '{url}' must be an absolute https URL (http only for localhost).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
