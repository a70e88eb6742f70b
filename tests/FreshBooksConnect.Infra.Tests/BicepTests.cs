using System.Text.Json;
using System.Text.Json.Nodes;
using FreshBooksConnect.Infra.Tests.Infrastructure;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>The Bicep compiles and lints with nothing to report, under a config that turns every rule on.</summary>
[Collection(CompiledTemplateCollection.Name)]
public sealed class BicepTests(CompiledTemplate compiled)
{
    [Fact]
    public void Main_template_builds_with_no_errors_and_no_warnings()
    {
        Assert.True(compiled.Build.ExitCode == 0, $"bicep build failed: {compiled.Build}");
        Assert.Empty(BicepCli.WarningsAndErrors(compiled.Build.StandardError));
        Assert.Equal(
            "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
            (string?)compiled.Root["$schema"]);
    }

    [Fact]
    public async Task Main_template_and_its_modules_lint_clean()
    {
        // Linting main.bicep reports the diagnostics of every module it uses, each with its own path.
        var lint = await BicepCli.RunAsync("lint", "infra/main.bicep");

        Assert.True(lint.ExitCode == 0, $"bicep lint failed: {lint}");
        Assert.Empty(BicepCli.WarningsAndErrors(lint.StandardError));
        Assert.Empty(BicepCli.WarningsAndErrors(lint.StandardOutput));
    }

    [Fact]
    public void Bicep_config_turns_every_listed_linter_rule_on_and_none_off()
    {
        var config = JsonNode.Parse(
            File.ReadAllText(Repo.PathTo("infra", "bicepconfig.json")),
            documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip })!;
        var core = config["analyzers"]!["core"]!;
        var rules = core["rules"]!.AsObject();

        Assert.True((bool?)core["enabled"]);
        // The rules Bicep leaves off unless asked, and the ones that keep secrets and what-if honest.
        Assert.All(
            new[]
            {
                "use-recent-api-versions", "use-user-defined-types", "what-if-short-circuiting",
                "use-description-params", "use-description-outputs", "use-description-vars",
                "no-hardcoded-location", "explicit-values-for-loc-params", "no-loc-expr-outside-params",
                "outputs-should-not-contain-secrets", "secure-secrets-in-params", "use-secure-value-for-secure-inputs",
            },
            rule => Assert.True(rules.ContainsKey(rule), $"bicepconfig.json does not turn on {rule}."));
        Assert.All(rules, rule => Assert.NotEqual("off", ((string?)rule.Value!["level"])?.ToLowerInvariant()));
    }
}
