using Microsoft.Extensions.Configuration;

namespace FreshBooksConnect.Functions.Http;

/// <summary>
/// Whether the app got its secret settings, never what they hold: each is <c>set</c>, <c>missing</c>, or
/// <c>unresolved</c> when it still starts with <c>@Microsoft.KeyVault(</c>, which is what App Service leaves
/// in a setting whose Key Vault reference it could not resolve. The deploy check reads this from /api/health.
/// </summary>
public static class KeySettingsReport
{
    public const string Set = "set";
    public const string Missing = "missing";
    public const string Unresolved = "unresolved";

    private const string KeyVaultReference = "@Microsoft.KeyVault(";

    /// <summary>Setting name (as in the app settings, with <c>__</c>) to its state, in name order.</summary>
    public static SortedDictionary<string, string> Describe(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var report = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["FreshBooks__ClientSecret"] = StateOf(configuration["FreshBooks:ClientSecret"]),
            ["Onboarding__SigningKey"] = StateOf(configuration["Onboarding:SigningKey"]),
        };

        var keys = configuration.GetSection("TokenProtection:Keys").GetChildren().ToList();
        if (keys.Count == 0)
        {
            report["TokenProtection__Keys"] = Missing;
        }

        foreach (var key in keys)
        {
            report[$"TokenProtection__Keys__{key.Key}"] = StateOf(key.Value);
        }

        return report;
    }

    private static string StateOf(string? value) =>
        string.IsNullOrWhiteSpace(value) ? Missing
        : value.TrimStart().StartsWith(KeyVaultReference, StringComparison.OrdinalIgnoreCase) ? Unresolved
        : Set;
}
