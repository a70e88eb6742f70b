using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FreshBooksConnect.Infra.Tests.Infrastructure;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>
/// What keeps the keys and the connections through mistakes (locks, the app-keys template the
/// postprovision hook deploys) and what azd itself is told (azure.yaml, the region list).
/// </summary>
[Collection(CompiledTemplateCollection.Name)]
public sealed class ProtectionAndAzdTests(CompiledTemplate compiled)
{
    [Fact]
    public void Storage_account_and_vault_get_CanNotDelete_locks_unless_a_throwaway_environment_turns_them_off()
    {
        var locks = compiled.ModuleWith("Microsoft.Authorization/locks");
        var scopes = locks.ResourcesOfType("Microsoft.Authorization/locks")
            .Select(resource =>
            {
                Assert.Equal("CanNotDelete", (string?)resource["properties"]!["level"]);
                return (string?)resource["scope"];
            })
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal(
            ["[resourceId('Microsoft.KeyVault/vaults', parameters('keyVaultName'))]", "[resourceId('Microsoft.Storage/storageAccounts', parameters('storageAccountName'))]"],
            scopes);
        Assert.Equal("[parameters('deleteLocks')]", (string?)locks.Deployment["condition"]);
        Assert.True((bool?)compiled.Root["parameters"]!["deleteLocks"]!["defaultValue"]);
        Assert.Equal("[variables('names').storageAccount]", (string?)locks.Resolve(JsonValue.Create("[parameters('storageAccountName')]")));
        Assert.Equal("[variables('names').keyVault]", (string?)locks.Resolve(JsonValue.Create("[parameters('keyVaultName')]")));
    }

    [Fact]
    public async Task App_keys_template_builds_clean_and_writes_each_key_only_when_the_hook_passes_one()
    {
        var build = await BicepCli.RunAsync("build", "infra/hooks/app-keys.bicep", "--stdout");
        var lint = await BicepCli.RunAsync("lint", "infra/hooks/app-keys.bicep");

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Empty(BicepCli.WarningsAndErrors(build.StandardError));
        Assert.True(lint.ExitCode == 0, lint.ToString());
        Assert.Empty(BicepCli.WarningsAndErrors(lint.StandardError + lint.StandardOutput));

        var template = JsonNode.Parse(build.StandardOutput)!.AsObject();
        var secrets = Arm.Resources(template).Where(resource => (string?)resource["type"] == "Microsoft.KeyVault/vaults/secrets").ToList();
        Assert.Equal(4, secrets.Count);
        foreach (var (secret, parameter) in new[]
        {
            ("token-encryption-key", "tokenEncryptionKey"), ("onboarding-signing-key", "onboardingSigningKey"), ("events-signing-secret", "eventsSigningSecret"),
        })
        {
            var resource = Assert.Single(secrets, resource => ((string)resource["name"]!).Contains($"'{secret}'", StringComparison.Ordinal));
            Assert.Equal($"[not(empty(parameters('{parameter}')))]", (string?)resource["condition"]);
            Assert.Equal($"[parameters('{parameter}')]", (string?)resource["properties"]!["value"]);
            Assert.Equal("securestring", (string?)template["parameters"]![parameter]!["type"]);
            Assert.Equal("", (string?)template["parameters"]![parameter]!["defaultValue"]);
        }

        // A rotation's new key: token-encryption-key-<id>, only with both an id and a key, the key a secure parameter.
        var rotated = Assert.Single(secrets, resource => ((string)resource["name"]!).Contains("token-encryption-key-{0}", StringComparison.Ordinal));
        Assert.Equal("[and(not(empty(parameters('newTokenKeyId'))), not(empty(parameters('newTokenKey'))))]", (string?)rotated["condition"]);
        Assert.Equal("[parameters('newTokenKey')]", (string?)rotated["properties"]!["value"]);
        Assert.Equal("securestring", (string?)template["parameters"]!["newTokenKey"]!["type"]);

        // The hook deploys exactly this file, from its own folder.
        Assert.Contains("--template-file \"$here/app-keys.bicep\"", File.ReadAllText(Repo.PathTo("infra", "hooks", "postprovision.sh")), StringComparison.Ordinal);
    }

    [Fact]
    public void Location_is_limited_to_regions_that_offer_Flex_Consumption()
    {
        var location = compiled.Root["parameters"]!["location"]!;
        var allowed = location["allowedValues"]!.AsArray().Select(value => (string)value!).ToList();

        Assert.Contains("eastus2", allowed);
        Assert.Contains("westeurope", allowed);
        Assert.Contains("swedencentral", allowed);
        Assert.True(allowed.Count >= 20, $"Only {allowed.Count} regions.");
        Assert.Equal(allowed.Distinct().Order(StringComparer.Ordinal), allowed);
        Assert.All(allowed, region => Assert.Matches("^[a-z0-9]+$", region));
        // Canary regions are not for customers.
        Assert.DoesNotContain(allowed, region => region.EndsWith("euap", StringComparison.Ordinal));
        Assert.Equal("location", (string?)location["metadata"]!["azd"]!["type"]);
    }

    [Fact]
    public void Azure_yaml_requires_the_azd_that_reloads_hook_changes_and_runs_each_hook_on_both_shells()
    {
        var yaml = File.ReadAllText(Repo.PathTo("azure.yaml"));

        Assert.Matches(new Regex("^requiredVersions:\\n  azd: \">= 1\\.21\\.0\"$", RegexOptions.Multiline), yaml.ReplaceLineEndings("\n"));
        foreach (var hook in new[] { "preprovision", "postprovision", "postdeploy" })
        {
            Assert.Contains($"run: ./infra/hooks/{hook}.sh", yaml, StringComparison.Ordinal);
            Assert.Contains($"run: ./infra/hooks/{hook}.ps1", yaml, StringComparison.Ordinal);
            Assert.True(File.Exists(Repo.PathTo("infra", "hooks", $"{hook}.sh")), $"{hook}.sh is missing.");
            Assert.True(File.Exists(Repo.PathTo("infra", "hooks", $"{hook}.ps1")), $"{hook}.ps1 is missing.");
        }

        Assert.DoesNotContain("continueOnError: true", yaml, StringComparison.Ordinal);
    }
}
