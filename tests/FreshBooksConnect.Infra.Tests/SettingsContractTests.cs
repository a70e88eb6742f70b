using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using FreshBooksConnect.Infra.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>
/// The settings contract between infra/ and the app: the app, configured with exactly the settings
/// the compiled template sets, passes its own start-up validation (AddFreshBooksConnect, ValidateOnStart).
/// </summary>
[Collection(CompiledTemplateCollection.Name)]
public sealed partial class SettingsContractTests(CompiledTemplate compiled)
{
    private const string IdentityClientId = "6f1c2a4e-93b7-4d0a-b5e2-7c8d9e0f1a2b";
    private const string Account = "stcontract0example";

    /// <summary>Values only Azure has (module outputs), in the shape Azure gives them.</summary>
    private static readonly Dictionary<string, string> AzureValues = new(StringComparer.OrdinalIgnoreCase)
    {
        ["AzureWebJobsStorage__clientId"] = IdentityClientId,
        ["AzureWebJobsStorage__blobServiceUri"] = $"https://{Account}.blob.core.windows.net/",
        ["AzureWebJobsStorage__queueServiceUri"] = $"https://{Account}.queue.core.windows.net/",
        ["AzureWebJobsStorage__tableServiceUri"] = $"https://{Account}.table.core.windows.net/",
        ["Storage__clientId"] = IdentityClientId,
        ["Storage__tableServiceUri"] = $"https://{Account}.table.core.windows.net/",
        ["Storage__queueServiceUri"] = $"https://{Account}.queue.core.windows.net/",
        ["APPLICATIONINSIGHTS_CONNECTION_STRING"] =
            "InstrumentationKey=2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091;IngestionEndpoint=https://eastus2-3.in.applicationinsights.azure.com/;"
            + "LiveEndpoint=https://eastus2.livediagnostics.monitor.azure.com/;ApplicationId=3c4d5e6f-7081-4923-ab4c-5d6e7f809102",
        ["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] = $"ClientId={IdentityClientId};Authorization=AAD",
        ["FreshBooks__ClientId"] = "contract-client-id",
        ["FreshBooks__RedirectUri"] = "https://func-api-contract0example.azurewebsites.net/api/callback",
        ["FreshBooks__Scopes"] = "user:profile:read",
        ["Events__WebhookUrl"] = "https://saas.example.com/webhooks/freshbooks",
    };

    /// <summary>
    /// What Azure resolves a Key Vault reference to for the keys: new random ones of the form the provision hooks create (the
    /// app refuses local.settings.sample.json's well-known keys behind a public redirect URI; locally, run.sh writes random ones).
    /// </summary>
    private static readonly Dictionary<string, string> VaultValues = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Events__SigningSecret"] = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["TokenProtection__Keys__k1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["Onboarding__SigningKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
    };

    [Theory]
    [InlineData]
    [InlineData("FreshBooks__Scopes")]
    [InlineData("Events__WebhookUrl")]
    [InlineData("FreshBooks__Scopes", "Events__WebhookUrl")]
    [InlineData("FreshBooks__UsePkce")]
    [InlineData("Onboarding__ProductName", "Onboarding__ConfirmPage", "Onboarding__AllowedReturnUrls")]
    public void App_configured_with_exactly_the_templates_settings_passes_its_start_up_validation(params string[] optional)
    {
        var settings = TemplateSettings(optional);

        var failure = Validate(settings);

        Assert.True(failure is null, $"Start-up validation failed with the template's settings ({string.Join(", ", settings.Keys)}): {failure}");
        Assert.Equal(optional.Contains("Events__WebhookUrl"), settings.ContainsKey("Events__WebhookUrl"));
        Assert.True(settings.ContainsKey("Events__SigningSecret"), "The template no longer sets Events__SigningSecret.");
    }

    [Fact]
    public async Task With_a_webhook_url_the_app_validates_with_the_signing_secret_the_postprovision_hook_puts_in_the_vault()
    {
        using var sandbox = new HookSandbox();
        sandbox.StoreCredentials();
        sandbox.StoreProvisionOutputs();
        var run = await sandbox.RunAsync("postprovision.sh");
        Assert.True(run.ExitCode == 0, run.ToString());
        var settings = TemplateSettings("Events__WebhookUrl");
        settings["Events__SigningSecret"] = sandbox.Secrets()["events-signing-secret"];

        var failure = Validate(settings);

        Assert.True(failure is null, $"Start-up validation failed with the hook's signing secret and a webhook URL: {failure}");
    }

    [Fact]
    public void With_a_webhook_url_and_the_signing_secret_reference_unresolved_start_up_validation_fails_naming_the_secret()
    {
        // What App Service leaves in a setting whose Key Vault reference it could not resolve (the secret not created yet).
        var settings = TemplateSettings("Events__WebhookUrl");
        settings["Events__SigningSecret"] = "@Microsoft.KeyVault(SecretUri=https://kv-contract.vault.azure.net/secrets/events-signing-secret)";

        var failure = Validate(settings);

        Assert.NotNull(failure);
        Assert.Contains("Events__SigningSecret", failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_FreshBooks__ClientId_start_up_validation_fails_naming_that_setting()
    {
        var settings = TemplateSettings();
        Assert.True(settings.Remove("FreshBooks__ClientId"));

        var failure = Validate(settings);

        Assert.NotNull(failure);
        Assert.Contains("FreshBooks__ClientId", failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_setting_a_function_binding_names_is_set_by_the_template()
    {
        var names = compiled.AppSettings().Select(setting => setting.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var bindings = Directory.EnumerateFiles(Repo.PathTo("src", "FreshBooksConnect.Functions"), "*.cs", SearchOption.TopDirectoryOnly)
            .SelectMany(file => BindingExpression().Matches(File.ReadAllText(file)).Select(match => (file, name: match.Groups[1].Value)))
            .ToList();

        Assert.Contains(bindings, binding => binding.name == "RenewalSchedule");
        Assert.All(bindings, binding => Assert.True(
            names.Contains(binding.name),
            $"{Path.GetFileName(binding.file)} binds to %{binding.name}%, which infra/app/api.bicep does not set."));
    }

    [Fact]
    public void With_the_templates_settings_the_app_exports_to_Application_Insights_as_the_identity_and_the_host_too()
    {
        var settings = TemplateSettings();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddFreshBooksConnectTelemetry(Configuration(settings));
        using var provider = services.BuildServiceProvider();

        // The authentication string passes the app's own check, and makes the exporter authenticate as the managed identity
        // (the component accepts nothing else: local auth is off), with every log line kept for the alerts.
        provider.GetRequiredService<IStartupValidator>().Validate();
        var exporter = provider.GetRequiredService<IOptionsMonitor<AzureMonitorExporterOptions>>().Get(Options.DefaultName);
        Assert.Equal(settings["APPLICATIONINSIGHTS_CONNECTION_STRING"], exporter.ConnectionString);
        Assert.IsType<ManagedIdentityCredential>(exporter.Credential);
        Assert.False(exporter.EnableTraceBasedLogsSampler);

        // The Functions host sends its own telemetry through OpenTelemetry with the same two settings.
        var host = JsonNode.Parse(File.ReadAllText(Repo.PathTo("host.json")))!;
        Assert.Equal("OpenTelemetry", (string?)host["telemetryMode"]);
        Assert.Null(host["logging"]?["applicationInsights"]);
    }

    /// <summary>
    /// Exactly the names the compiled template sets, with the conditional ones named in <paramref name="optional"/>.
    /// Each value: the template's own value where it is a literal (what Azure will have); else, for a key, a new random
    /// one as the vault holds; else the working local value from local.settings.sample.json (the client secret's Key Vault
    /// reference included, since Azure resolves it to the secret); else a plausible Azure value.
    /// </summary>
    private Dictionary<string, string?> TemplateSettings(params string[] optional)
    {
        var sample = SampleValues();
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var conditional = compiled.AppSettings().Where(setting => setting.Conditional).Select(setting => setting.Name).ToList();
        Assert.All(optional, name => Assert.Contains(name, conditional));
        // A new environment's key ring: k1 alone, current (the preprovision hook passes no ids yet).
        foreach (var setting in compiled.AppSettings().Where(setting => !setting.Conditional || optional.Contains(setting.Name))
            .Select(setting => setting with { Name = setting.Name.Replace("{id}", "k1", StringComparison.Ordinal) }))
        {
            var isKeyVaultReference = setting.Value.Contains("@Microsoft.KeyVault(", StringComparison.Ordinal);
            var isLiteral = !setting.Value.StartsWith('[') && !setting.Conditional && !isKeyVaultReference;
            if (isLiteral)
            {
                settings[setting.Name] = setting.Value;
            }
            else if (isKeyVaultReference && VaultValues.TryGetValue(setting.Name, out var secret))
            {
                settings[setting.Name] = secret;
            }
            else if (sample.TryGetValue(setting.Name, out var local))
            {
                settings[setting.Name] = local;
            }
            else
            {
                Assert.False(isKeyVaultReference, $"Neither local.settings.sample.json nor {nameof(VaultValues)} has a value for {setting.Name}, which Azure reads from Key Vault.");
                Assert.True(
                    AzureValues.TryGetValue(setting.Name, out var azure),
                    $"No value for {setting.Name}: add it to local.settings.sample.json or to {nameof(AzureValues)} here.");
                settings[setting.Name] = azure;
            }
        }

        return settings;
    }

    private static Dictionary<string, string> SampleValues()
    {
        var path = Repo.PathTo("local.settings.sample.json");
        Assert.True(File.Exists(path), "local.settings.sample.json (the working local settings) is missing at the repository root.");
        var values = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip })?["Values"]?.AsObject()
            ?? throw new InvalidOperationException("local.settings.sample.json has no Values object.");
        return values
            .Where(pair => pair.Value is JsonValue)
            .ToDictionary(pair => pair.Key, pair => pair.Value!.ToString(), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Runs the app's registration and its start-up validation; the exception it throws, or null.</summary>
    private static Exception? Validate(IReadOnlyDictionary<string, string?> appSettings)
    {
        var configuration = Configuration(appSettings);
        var services = new ServiceCollection();
        services.AddFreshBooksConnect(configuration);
        services.AddFreshBooksConnectTelemetry(configuration);
        using var provider = services.BuildServiceProvider();
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            return null;
        }
        catch (Exception failure) when (failure is OptionsValidationException or AggregateException)
        {
            return failure;
        }
    }

    /// <summary>App settings reach the app as environment variables, whose provider reads "__" as ":".</summary>
    private static IConfiguration Configuration(IReadOnlyDictionary<string, string?> appSettings) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(appSettings.Select(pair => KeyValuePair.Create(pair.Key.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal), pair.Value)))
            .Build();

    [GeneratedRegex("\"%([A-Za-z0-9_:]+)%\"")]
    private static partial Regex BindingExpression();
}
