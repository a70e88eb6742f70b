using System.Reflection;
using System.Text.Json;
using FreshBooksConnect.Consent;
using FreshBooksConnect.Events;
using FreshBooksConnect.FreshBooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Security;

/// <summary>
/// The values of <c>local.settings.sample.json</c>, which anyone can read in the repository. Its keys are fine while the app
/// answers only on this machine, and a hole once it is reachable from elsewhere: whoever has them signs onboarding links,
/// decrypts stored tokens and forges events. The file itself is embedded in this assembly, so the values recognised are
/// always the ones the repository ships, without a copy to keep in step.
/// </summary>
internal static class SampleKeys
{
    public const string SampleFileName = "local.settings.sample.json";

    private static readonly Lazy<HashSet<string>> Values = new(ReadSampleValues);

    /// <summary>Whether <paramref name="value"/> is one of the sample's values.</summary>
    public static bool IsSampleValue(string? value) => !string.IsNullOrWhiteSpace(value) && Values.Value.Contains(value.Trim());

    private static HashSet<string> ReadSampleValues()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(typeof(SampleKeys).Namespace + "." + SampleFileName)
            ?? throw new InvalidOperationException($"{SampleFileName} is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}: see FreshBooksConnect.csproj.");
        using var sample = JsonDocument.Parse(stream, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        return sample.RootElement.GetProperty("Values").EnumerateObject()
            .Where(setting => setting.Value.ValueKind == JsonValueKind.String)
            .Select(setting => setting.Value.GetString()!.Trim())
            .ToHashSet(StringComparer.Ordinal);
    }
}

/// <summary>
/// Refuses to start with a key of <c>local.settings.sample.json</c> when <c>FreshBooks__RedirectUri</c> is not loopback: a
/// tunnel or Azure serves the app to the world then. The keys are read as the app binds them, from the same sections.
/// </summary>
internal sealed class SampleKeysValidator(IConfiguration configuration) : IValidateOptions<FreshBooksOptions>
{
    private const string NewBase64Key = "openssl rand -base64 32";

    public ValidateOptionsResult Validate(string? name, FreshBooksOptions options)
    {
        if (options.RedirectUri is not { IsAbsoluteUri: true } redirectUri || redirectUri.IsLoopback)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = KeySettings()
            .Where(setting => SampleKeys.IsSampleValue(setting.Value))
            .Select(setting =>
                $"{setting.Name} holds the well-known key of {SampleKeys.SampleFileName}, and FreshBooks__RedirectUri ({redirectUri.GetLeftPart(UriPartial.Authority)}) " +
                $"makes this app reachable from outside this machine: anyone who read the sample could {setting.Risk}. Give it a new random value " +
                $"({setting.HowToMake}); locally, delete local.settings.json and run ./run.sh, which writes one with random keys.")
            .ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private IEnumerable<(string Name, string? Value, string Risk, string HowToMake)> KeySettings()
    {
        var tokenProtection = configuration.GetSection(TokenProtectionOptions.SectionName).Get<TokenProtectionOptions>() ?? new TokenProtectionOptions();
        foreach (var (id, key) in tokenProtection.Keys)
        {
            yield return ($"TokenProtection__Keys__{id}", key, "decrypt the stored tokens", NewBase64Key);
        }

        var onboarding = configuration.GetSection(OnboardingOptions.SectionName).Get<OnboardingOptions>() ?? new OnboardingOptions();
        yield return ("Onboarding__SigningKey", onboarding.SigningKey, "sign onboarding links for any tenant", NewBase64Key);

        var events = configuration.GetSection(EventsOptions.SectionName).Get<EventsOptions>() ?? new EventsOptions();
        yield return ("Events__SigningSecret", events.SigningSecret, "sign events your webhook would trust", "whsec_ followed by " + NewBase64Key);
    }
}
