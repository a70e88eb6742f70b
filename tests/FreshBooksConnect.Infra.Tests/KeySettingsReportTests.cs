using FreshBooksConnect.Functions.Http;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>
/// What /api/health says about the secret settings (src/FreshBooksConnect.Functions/Http/KeySettingsReport.cs,
/// compiled into this project): the postdeploy hook relies on it to tell a resolved Key Vault reference from one
/// App Service could not resolve, and it must never give a value away.
/// </summary>
public sealed class KeySettingsReportTests
{
    private const string TokenKey = "q0cQ3Xo2n0m8Gk4b2d7Jc1vYt6uWz9sL5aRfE3hPiKM=";
    private const string SigningKey = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5";
    private const string ClientSecret = "client-secret-from-key-vault";

    [Fact]
    public void Resolved_settings_are_reported_set_by_their_app_setting_names()
    {
        var report = KeySettingsReport.Describe(Configuration(new()
        {
            ["FreshBooks:ClientSecret"] = ClientSecret,
            ["TokenProtection:CurrentKeyId"] = "k1",
            ["TokenProtection:Keys:k1"] = TokenKey,
            ["Onboarding:SigningKey"] = SigningKey,
        }));

        Assert.Equal(
            new Dictionary<string, string>
            {
                ["FreshBooks__ClientSecret"] = "set",
                ["Onboarding__SigningKey"] = "set",
                ["TokenProtection__Keys__k1"] = "set",
            },
            report);
    }

    [Fact]
    public void A_reference_App_Service_left_unresolved_and_a_missing_setting_are_told_apart()
    {
        var report = KeySettingsReport.Describe(Configuration(new()
        {
            ["FreshBooks:ClientSecret"] = "@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/freshbooks-client-secret)",
            ["TokenProtection:Keys:k1"] = TokenKey,
            ["TokenProtection:Keys:k2"] = " @microsoft.keyvault(SecretUri=https://kv-x.vault.azure.net/secrets/token-encryption-key-k2)",
        }));

        Assert.Equal("unresolved", report["FreshBooks__ClientSecret"]);
        Assert.Equal("set", report["TokenProtection__Keys__k1"]);
        Assert.Equal("unresolved", report["TokenProtection__Keys__k2"]);
        Assert.Equal("missing", report["Onboarding__SigningKey"]);
    }

    [Fact]
    public void Without_any_token_key_the_key_ring_is_reported_missing()
    {
        var report = KeySettingsReport.Describe(Configuration(new() { ["Onboarding:SigningKey"] = "" }));

        Assert.Equal("missing", report["TokenProtection__Keys"]);
        Assert.Equal("missing", report["Onboarding__SigningKey"]);
    }

    [Fact]
    public void The_report_holds_names_and_states_only_never_a_value_or_its_length()
    {
        var report = KeySettingsReport.Describe(Configuration(new()
        {
            ["FreshBooks:ClientSecret"] = ClientSecret,
            ["TokenProtection:Keys:k1"] = TokenKey,
            ["Onboarding:SigningKey"] = SigningKey,
        }));

        Assert.All(report.Values, state => Assert.Contains(state, new[] { "set", "missing", "unresolved" }));
        var text = string.Join(";", report.Select(pair => pair.Key + "=" + pair.Value));
        Assert.DoesNotContain(ClientSecret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(TokenKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain(SigningKey, text, StringComparison.Ordinal);
        Assert.DoesNotMatch("[0-9]", text.Replace("k1", "", StringComparison.Ordinal));
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
