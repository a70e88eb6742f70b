using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Connections;

/// <summary>
/// The per-instance cache of current access tokens (section <c>TokenCache</c>): <c>TokenCache__Lifetime</c> (zero turns it off)
/// and <c>TokenCache__MaxEntries</c>.
/// </summary>
public sealed class TokenCacheOptions
{
    public const string SectionName = "TokenCache";

    /// <summary>
    /// How long a token stays cached (default 30 seconds; never past the inline-refresh window of its expiry). Zero: no cache,
    /// every token request reads storage.
    /// </summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most connections cached at once (default 10,000); past it, new entries wait until some expire or are compacted away.</summary>
    public int MaxEntries { get; set; } = 10_000;
}

internal sealed class TokenCacheOptionsValidator : IValidateOptions<TokenCacheOptions>
{
    /// <summary>A cached token is not seen by another instance's refresh; the 401 path catches that, but only a short lifetime keeps it rare.</summary>
    private static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(10);

    public ValidateOptionsResult Validate(string? name, TokenCacheOptions options)
    {
        var failures = new List<string>();
        if (options.Lifetime < TimeSpan.Zero || options.Lifetime > MaxLifetime)
        {
            failures.Add($"TokenCache__Lifetime must be between 00:00:00 (off) and {MaxLifetime:c}.");
        }

        if (options.MaxEntries is < 1 or > 1_000_000)
        {
            failures.Add("TokenCache__MaxEntries must be 1-1000000.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
