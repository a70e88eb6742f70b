using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FreshBooksConnect.Infra.Tests.Infrastructure;
using FreshBooksConnect.Storage;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>What the compiled template deploys: read from the ARM JSON, the way Azure will see it.</summary>
[Collection(CompiledTemplateCollection.Name)]
public sealed partial class TemplateTests(CompiledTemplate compiled)
{
    /// <summary>Every setting the app validates at start-up; the app reads exactly these names.</summary>
    public static readonly string[] RequiredSettings =
    [
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "AzureWebJobsStorage__blobServiceUri",
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
        "Storage__credential",
        "Storage__clientId",
        "Storage__tableServiceUri",
        "Storage__queueServiceUri",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "FreshBooks__ClientId",
        "FreshBooks__ClientSecret",
        "FreshBooks__RedirectUri",
        "FreshBooks__AuthUrl",
        "FreshBooks__ApiUrl",
        "RenewalSchedule",
        "TokenProtection__CurrentKeyId",
        "TokenProtection__Keys__{id}",
        "Onboarding__SigningKey",
        "Events__SigningSecret",
    ];

    private const string KeyVaultReference = "@Microsoft.KeyVault(";

    private Dictionary<string, AppSetting> Settings => compiled.AppSettings().ToDictionary(setting => setting.Name);

    [Fact]
    public void Function_app_sets_every_required_setting_unconditionally_and_nothing_else_but_the_scopes_PKCE_the_webhook_url_and_the_onboarding_settings()
    {
        var settings = compiled.AppSettings();

        Assert.Equal(settings.Count, settings.Select(setting => setting.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal(
            RequiredSettings.Order(StringComparer.Ordinal),
            settings.Where(setting => !setting.Conditional).Select(setting => setting.Name).Order(StringComparer.Ordinal));
        Assert.Equal(
            ["Events__WebhookUrl", "FreshBooks__Scopes", "FreshBooks__UsePkce", "Onboarding__AllowedReturnUrls", "Onboarding__ConfirmPage", "Onboarding__ProductName"],
            settings.Where(setting => setting.Conditional).Select(setting => setting.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Scopes_setting_is_set_only_when_the_scopes_parameter_is_not_empty()
    {
        var scopes = Settings["FreshBooks__Scopes"];
        var variable = (string)compiled.App.Template["variables"]!.AsObject()
            .Single(pair => pair.Value is JsonValue value && ((string?)value)?.Contains("'FreshBooks__Scopes'", StringComparison.Ordinal) == true)
            .Value!;

        Assert.StartsWith("[if(empty(parameters('freshBooksScopes')), createArray(),", variable, StringComparison.Ordinal);
        Assert.Equal("parameters('freshBooksScopes')", scopes.Value);
        Assert.Equal("[parameters('freshBooksScopes')]", (string?)compiled.App.Resolve(JsonValue.Create("[parameters('freshBooksScopes')]")));
    }

    [Fact]
    public void PKCE_setting_is_set_to_true_only_when_the_use_PKCE_parameter_is_true()
    {
        var pkce = Settings["FreshBooks__UsePkce"];
        var variable = (string)compiled.App.Template["variables"]!.AsObject()
            .Single(pair => pair.Value is JsonValue value && ((string?)value)?.Contains("'FreshBooks__UsePkce'", StringComparison.Ordinal) == true)
            .Value!;

        Assert.StartsWith("[if(parameters('freshBooksUsePkce'), createArray(", variable, StringComparison.Ordinal);
        Assert.EndsWith(", createArray())]", variable, StringComparison.Ordinal);
        Assert.Equal("'true'", pkce.Value);
    }

    [Fact]
    public void Webhook_url_is_set_only_when_EVENTS_WEBHOOK_URL_is_and_comes_from_it_unchanged()
    {
        var webhook = Settings["Events__WebhookUrl"];
        var variable = (string)compiled.App.Template["variables"]!.AsObject()
            .Single(pair => pair.Value is JsonValue value && ((string?)value)?.Contains("'Events__WebhookUrl'", StringComparison.Ordinal) == true)
            .Value!;

        Assert.StartsWith("[if(empty(parameters('eventsWebhookUrl')), createArray(),", variable, StringComparison.Ordinal);
        Assert.Equal("parameters('eventsWebhookUrl')", webhook.Value);
        Assert.Equal("", (string?)compiled.App.Template["parameters"]!["eventsWebhookUrl"]!["defaultValue"]);
        // main passes its own parameter, empty by default, which main.parameters.json fills from the azd environment.
        Assert.Equal("[parameters('eventsWebhookUrl')]", (string?)compiled.App.Resolve(JsonValue.Create("[parameters('eventsWebhookUrl')]")));
        var parameter = compiled.Root["parameters"]!["eventsWebhookUrl"]!;
        Assert.Equal("string", (string?)parameter["type"]);
        Assert.Equal("", (string?)parameter["defaultValue"]);
        var file = JsonNode.Parse(File.ReadAllText(Repo.PathTo("infra", "main.parameters.json")))!["parameters"]!;
        Assert.Equal("${EVENTS_WEBHOOK_URL}", (string?)file["eventsWebhookUrl"]!["value"]);
    }

    [Theory]
    [InlineData("Onboarding__ProductName", "onboardingProductName", "ONBOARDING_PRODUCT_NAME")]
    [InlineData("Onboarding__ConfirmPage", "onboardingConfirmPage", "ONBOARDING_CONFIRM_PAGE")]
    [InlineData("Onboarding__AllowedReturnUrls", "onboardingAllowedReturnUrls", "ONBOARDING_ALLOWED_RETURN_URLS")]
    public void An_onboarding_setting_is_set_only_when_its_azd_variable_is_and_comes_from_it_unchanged(string setting, string parameterName, string variable)
    {
        var value = Settings[setting];
        var expression = (string)compiled.App.Template["variables"]!.AsObject()
            .Single(pair => pair.Value is JsonValue v && ((string?)v)?.Contains($"'{setting}'", StringComparison.Ordinal) == true)
            .Value!;

        Assert.StartsWith($"[if(empty(parameters('{parameterName}')), createArray(),", expression, StringComparison.Ordinal);
        Assert.Equal($"parameters('{parameterName}')", value.Value);
        Assert.Equal("", (string?)compiled.App.Template["parameters"]![parameterName]!["defaultValue"]);
        Assert.Equal($"[parameters('{parameterName}')]", (string?)compiled.App.Resolve(JsonValue.Create($"[parameters('{parameterName}')]")));
        var parameter = compiled.Root["parameters"]![parameterName]!;
        Assert.Equal("string", (string?)parameter["type"]);
        Assert.Equal("", (string?)parameter["defaultValue"]);
        var file = JsonNode.Parse(File.ReadAllText(Repo.PathTo("infra", "main.parameters.json")))!["parameters"]!;
        Assert.Equal($"${{{variable}}}", (string?)file[parameterName]!["value"]);
    }

    [Theory]
    [InlineData("FreshBooks__ClientSecret", true)]
    [InlineData("TokenProtection__Keys__k1", true)]
    [InlineData("Onboarding__SigningKey", true)]
    [InlineData("Events__SigningSecret", true)]
    [InlineData("Events__WebhookUrl", false)]
    [InlineData("Some__Password", true)]
    [InlineData("Other_CONNECTION_STRING", true)]
    [InlineData("APPLICATIONINSIGHTS_CONNECTION_STRING", false)]
    [InlineData("TokenProtection__CurrentKeyId", false)]
    [InlineData("FreshBooks__ClientId", false)]
    [InlineData("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", false)]
    public void Secret_looking_names_are_recognised(string name, bool secret) => Assert.Equal(secret, LooksSecret(name));

    [Fact]
    public void Every_secret_looking_setting_is_a_Key_Vault_reference_to_a_secret_of_the_vault_module()
    {
        var keyVault = compiled.ModuleWith("Microsoft.KeyVault/vaults");
        var symbol = SymbolicName(keyVault.Deployment);
        var secretSettings = compiled.AppSettings().Where(setting => LooksSecret(setting.Name)).ToList();

        Assert.Equal(
            ["Events__SigningSecret", "FreshBooks__ClientSecret", "Onboarding__SigningKey", "TokenProtection__Keys__{id}"],
            secretSettings.Select(setting => setting.Name).Order(StringComparer.Ordinal));

        // The token keys, one setting per key, have a test of their own (below).
        Assert.All(secretSettings.Where(setting => setting.Name != "TokenProtection__Keys__{id}"), setting =>
        {
            // "@Microsoft.KeyVault(SecretUri=...)", compiled to a format() over module parameters.
            var match = KeyVaultFormat().Match(setting.Value);
            Assert.True(
                setting.Value.StartsWith(KeyVaultReference, StringComparison.Ordinal) || match.Success,
                $"{setting.Name} must be a Key Vault reference, not {setting.Value}");
            if (match.Success)
            {
                // ...whose URI main takes from the Key Vault module's outputs: the secret's own URI, or for a
                // secret the postprovision hook creates (not a resource of the template), the vault's URI and its name.
                var passed = (string?)compiled.App.Resolve(JsonValue.Create($"[parameters('{match.Groups[1].Value}')]"));
                Assert.Matches($@"^\[reference\('{symbol}'\)\.outputs\.(\w+)\.value\]$", passed);
                var output = Regex.Match(passed!, @"outputs\.(\w+)\.value").Groups[1].Value;
                var uri = (string?)keyVault.Template["outputs"]![output]!["value"] ?? "";
                Assert.True(
                    uri.Contains("secretUri", StringComparison.Ordinal) || (uri.Contains("vaultUri", StringComparison.Ordinal) && uri.Contains("secrets/", StringComparison.Ordinal)),
                    $"{setting.Name} refers to {uri}, not a secret of the vault.");
            }
        });
    }

    [Fact]
    public void No_setting_carries_a_secure_parameter_of_main()
    {
        var secureParameters = compiled.Root["parameters"]!.AsObject()
            .Where(pair => (string?)pair.Value!["type"] == "securestring")
            .Select(pair => pair.Key)
            .ToList();
        // The app's own keys are no parameters at all: the postprovision hook creates them in the vault.
        Assert.Equal(["freshBooksClientSecret"], secureParameters);

        Assert.All(compiled.AppSettings(), setting =>
        {
            foreach (var parameter in compiled.App.ParametersIn(setting.Value))
            {
                var passed = compiled.App.Resolve(JsonValue.Create($"[parameters('{parameter}')]"))?.ToJsonString() ?? "";
                Assert.All(secureParameters, secure => Assert.DoesNotContain($"parameters('{secure}')", passed, StringComparison.Ordinal));
            }
        });
    }

    [Fact]
    public void The_template_writes_only_the_FreshBooks_client_secret_and_from_a_secure_parameter()
    {
        var keyVault = compiled.ModuleWith("Microsoft.KeyVault/vaults");
        var secret = Assert.Single(keyVault.ResourcesOfType("Microsoft.KeyVault/vaults/secrets"));

        Assert.Equal("freshbooks-client-secret", LastNameSegment((string)secret["name"]!));
        var parameter = Arm.ParameterOnly().Match((string?)secret["properties"]!["value"] ?? "");
        Assert.True(parameter.Success, "The client secret is not set from a parameter.");
        Assert.Equal("securestring", (string?)keyVault.Template["parameters"]![parameter.Groups[1].Value]!["type"]);
        Assert.Equal("[parameters('freshBooksClientSecret')]", (string?)keyVault.Resolve(JsonValue.Create($"[parameters('{parameter.Groups[1].Value}')]")));
    }

    [Fact]
    public void The_settings_reference_the_secrets_the_postprovision_hook_creates_by_the_same_names()
    {
        var outputs = compiled.ModuleWith("Microsoft.KeyVault/vaults").Template;
        var names = outputs["variables"]!["appKeySecretNames"]!.AsObject().Select(pair => (string)pair.Value!).Order(StringComparer.Ordinal).ToList();
        var hook = File.ReadAllText(Repo.PathTo("infra", "hooks", "postprovision.sh"));
        var hookNames = Regex.Match(hook, "secret_names=\"([^\"]+)\"").Groups[1].Value.Split(' ').Order(StringComparer.Ordinal);

        Assert.Equal(["events-signing-secret", "onboarding-signing-key", "token-encryption-key"], names);
        Assert.Equal(names, hookNames);
        Assert.Contains("variables('appKeySecretNames').tokenEncryptionKey", (string?)outputs["outputs"]!["tokenKeySecretUris"]!["value"], StringComparison.Ordinal);
        Assert.Contains("variables('appKeySecretNames').onboardingSigningKey", (string?)outputs["outputs"]!["onboardingSigningKeySecretUri"]!["value"], StringComparison.Ordinal);
        Assert.Contains(".outputs.tokenKeySecretUris.value", compiled.App.Deployment["properties"]!["parameters"]!["tokenKeySecretUris"]!["value"]!.ToString(), StringComparison.Ordinal);

        // Events__SigningSecret: a reference to events-signing-secret, through the vault module's output.
        Assert.Equal(
            "[format('{0}secrets/{1}', reference('vault').vaultUri, variables('appKeySecretNames').eventsSigningSecret)]",
            (string?)outputs["outputs"]!["eventsSigningSecretUri"]!["value"]);
        Assert.Contains(".outputs.eventsSigningSecretUri.value", compiled.App.Deployment["properties"]!["parameters"]!["eventsSigningSecretUri"]!["value"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal("[format('@Microsoft.KeyVault(SecretUri={0})', parameters('eventsSigningSecretUri'))]", Settings["Events__SigningSecret"].Value);
    }

    [Fact]
    public void Each_token_key_in_the_vault_is_one_setting_and_the_current_one_comes_from_the_hook_or_is_the_newest()
    {
        // One TokenProtection__Keys__<id> per entry of the vault module's map, each a Key Vault reference to that entry's URI.
        Assert.Equal(
            "[format('@Microsoft.KeyVault(SecretUri={0})', items(parameters('tokenKeySecretUris'))[copyIndex('tokenKeyAppSettings')].value)]",
            Settings["TokenProtection__Keys__{id}"].Value);

        // The map: k1 is token-encryption-key (the postprovision hook's), kN is token-encryption-key-kN (the rotation script's).
        var vault = compiled.ModuleWith("Microsoft.KeyVault/vaults");
        var uris = (string?)vault.Template["outputs"]!["tokenKeySecretUris"]!["value"];
        Assert.Contains("toObject(parameters('tokenKeyIds')", uris, StringComparison.Ordinal);
        Assert.Contains("if(equals(lambdaVariables('id'), 'k1'), variables('appKeySecretNames').tokenEncryptionKey, format('{0}-{1}', variables('appKeySecretNames').tokenEncryptionKey, lambdaVariables('id')))", uris, StringComparison.Ordinal);

        // The ids and the current one: the preprovision hook reads them from the vault into TOKEN_KEY_IDS and
        // TOKEN_CURRENT_KEY_ID; a new environment (both empty) has k1 alone, current.
        Assert.Equal("[if(empty(parameters('tokenKeyIds')), createArray('k1'), split(parameters('tokenKeyIds'), ','))]", (string?)compiled.Root["variables"]!["tokenKeyRing"]);
        Assert.Equal("[variables('tokenKeyRing')]", vault.Deployment["properties"]!["parameters"]!["tokenKeyIds"]!["value"]!.ToString());
        Assert.Equal("[if(empty(parameters('tokenCurrentKeyId')), last(variables('tokenKeyRing')), parameters('tokenCurrentKeyId'))]", (string?)compiled.Root["variables"]!["tokenCurrentKey"]);
        Assert.Equal("[variables('tokenCurrentKey')]", compiled.App.Deployment["properties"]!["parameters"]!["tokenCurrentKeyId"]!["value"]!.ToString());
        var file = JsonNode.Parse(File.ReadAllText(Repo.PathTo("infra", "main.parameters.json")))!["parameters"]!;
        Assert.Equal("${TOKEN_KEY_IDS}", (string?)file["tokenKeyIds"]!["value"]);
        Assert.Equal("${TOKEN_CURRENT_KEY_ID}", (string?)file["tokenCurrentKeyId"]!["value"]);
    }

    [Fact]
    public void Settings_that_are_not_secret_have_the_agreed_values()
    {
        var settings = Settings;

        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"].Value);
        Assert.Equal("managedidentity", settings["Storage__credential"].Value);
        Assert.Equal("https://auth.freshbooks.com/oauth/authorize/", settings["FreshBooks__AuthUrl"].Value);
        Assert.Equal("https://api.freshbooks.com", settings["FreshBooks__ApiUrl"].Value);
        Assert.Equal("0 */5 * * * *", settings["RenewalSchedule"].Value);
        Assert.Equal("[parameters('tokenCurrentKeyId')]", settings["TokenProtection__CurrentKeyId"].Value);
        Assert.Equal("[format('ClientId={0};Authorization=AAD', parameters('identityClientId'))]", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"].Value);

        // Both client ids are the user-assigned identity's; each endpoint is the storage account's own.
        var identitySymbol = SymbolicName(compiled.ModuleWith("Microsoft.ManagedIdentity/userAssignedIdentities").Deployment);
        var storageSymbol = SymbolicName(compiled.ModuleWith("Microsoft.Storage/storageAccounts").Deployment);
        foreach (var name in new[] { "AzureWebJobsStorage__clientId", "Storage__clientId" })
        {
            Assert.Equal($"[reference('{identitySymbol}').outputs.clientId.value]", (string?)compiled.App.Resolve(JsonValue.Create(settings[name].Value)));
        }

        foreach (var (name, endpoint) in new[]
        {
            ("AzureWebJobsStorage__blobServiceUri", "blobEndpoint"), ("AzureWebJobsStorage__queueServiceUri", "queueEndpoint"),
            ("AzureWebJobsStorage__tableServiceUri", "tableEndpoint"), ("Storage__tableServiceUri", "tableEndpoint"),
            ("Storage__queueServiceUri", "queueEndpoint"),
        })
        {
            Assert.Equal($"[reference('{storageSymbol}').outputs.{endpoint}.value]", (string?)compiled.App.Resolve(JsonValue.Create(settings[name].Value)));
        }

        // No connection strings with keys, and nothing Flex Consumption refuses.
        Assert.DoesNotContain("AzureWebJobsStorage", settings.Keys);
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", settings.Keys);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", settings.Keys);
    }

    [Fact]
    public void Redirect_uri_is_computed_from_the_app_name_and_is_the_uri_main_tells_the_user_to_register()
    {
        var setting = Settings["FreshBooks__RedirectUri"].Value;
        var variables = compiled.App.Template["variables"]!;

        Assert.Equal("[variables('redirectUri')]", setting);
        Assert.Equal("[format('https://{0}/api/callback', variables('defaultHostName'))]", (string?)variables["redirectUri"]);
        Assert.Equal("[format('{0}.azurewebsites.net', parameters('name'))]", (string?)variables["defaultHostName"]);
        // The app's name comes from main's variables, not from the site: no cycle, known before deployment.
        Assert.Equal("[parameters('name')]", (string?)compiled.Site["name"]);
        Assert.DoesNotContain("reference(", compiled.App.Resolve(JsonValue.Create("[parameters('name')]"))!.ToJsonString(), StringComparison.Ordinal);

        Assert.Equal(setting, (string?)compiled.App.Template["outputs"]!["redirectUri"]!["value"]);
        var appSymbol = SymbolicName(compiled.App.Deployment);
        Assert.Equal($"[reference('{appSymbol}').outputs.redirectUri.value]", (string?)compiled.Root["outputs"]!["FRESHBOOKS_REDIRECT_URI"]!["value"]);
    }

    [Fact]
    public void Function_app_is_a_linux_flex_consumption_dotnet_10_isolated_app()
    {
        var plan = compiled.App.Resource("Microsoft.Web/serverfarms");
        Assert.Equal("FC1", (string?)plan["sku"]!["name"]);
        Assert.Equal("FlexConsumption", (string?)plan["sku"]!["tier"]);
        Assert.True((bool?)plan["properties"]!["reserved"]);

        var site = compiled.Site;
        Assert.Equal("functionapp,linux", (string?)site["kind"]);
        var config = site["properties"]!["functionAppConfig"]!;
        Assert.Equal("dotnet-isolated", (string?)config["runtime"]!["name"]);
        Assert.Equal("10.0", (string?)config["runtime"]!["version"]);
        Assert.Equal(100, (int?)compiled.App.Resolve(config["scaleAndConcurrency"]!["maximumInstanceCount"]));
        Assert.Equal(2048, (int?)compiled.App.Resolve(config["scaleAndConcurrency"]!["instanceMemoryMB"]));

        var storage = config["deployment"]!["storage"]!;
        Assert.Equal("blobContainer", (string?)storage["type"]);
        Assert.Equal("UserAssignedIdentity", (string?)storage["authentication"]!["type"]);
        Assert.Equal("[parameters('identityId')]", (string?)storage["authentication"]!["userAssignedIdentityResourceId"]);
        var storageSymbol = SymbolicName(compiled.ModuleWith("Microsoft.Storage/storageAccounts").Deployment);
        Assert.Equal($"[reference('{storageSymbol}').outputs.deploymentContainerUrl.value]", (string?)compiled.App.Resolve(storage["value"]));
    }

    [Fact]
    public void Function_app_is_https_only_uses_its_identity_for_Key_Vault_and_is_tagged_for_azd()
    {
        var site = compiled.Site;
        var properties = site["properties"]!;

        Assert.True((bool?)properties["httpsOnly"]);
        Assert.Equal("1.2", (string?)properties["siteConfig"]!["minTlsVersion"]);
        Assert.Equal("Disabled", (string?)properties["siteConfig"]!["ftpsState"]);
        Assert.Equal("[parameters('identityId')]", (string?)properties["keyVaultReferenceIdentity"]);
        Assert.Equal("UserAssigned", (string?)site["identity"]!["type"]);
        Assert.Contains("parameters('identityId')", site["identity"]!["userAssignedIdentities"]!.AsObject().Single().Key, StringComparison.Ordinal);
        Assert.Contains("'azd-service-name', 'api'", (string?)site["tags"], StringComparison.Ordinal);

        var identitySymbol = SymbolicName(compiled.ModuleWith("Microsoft.ManagedIdentity/userAssignedIdentities").Deployment);
        Assert.Equal($"[reference('{identitySymbol}').outputs.id.value]", (string?)compiled.App.Resolve(properties["keyVaultReferenceIdentity"]));
    }

    [Fact]
    public void Storage_account_is_keyless_https_only_private_and_has_the_apps_tables_and_queues()
    {
        var storage = compiled.ModuleWith("Microsoft.Storage/storageAccounts");
        var properties = storage.Resource("Microsoft.Storage/storageAccounts")["properties"]!;

        Assert.False((bool?)properties["allowSharedKeyAccess"]);
        Assert.Equal("TLS1_2", (string?)properties["minimumTlsVersion"]);
        Assert.False((bool?)properties["allowBlobPublicAccess"]);
        Assert.True((bool?)properties["supportsHttpsTrafficOnly"]);

        Assert.Equal(["connections", "consentstates", "events", "renewalindex"], ChildNames(storage, "Microsoft.Storage/storageAccounts/tableServices/tables"));
        Assert.Equal(["events", "events-poison", "renewals", "renewals-poison"], ChildNames(storage, "Microsoft.Storage/storageAccounts/queueServices/queues"));
        // The names the app uses (its queue triggers name theirs at compile time; a poison queue is the queue's name + "-poison").
        Assert.Contains(StorageOptions.EventsTableName, ChildNames(storage, "Microsoft.Storage/storageAccounts/tableServices/tables"));
        Assert.Contains(StorageOptions.EventQueueName + "-poison", ChildNames(storage, "Microsoft.Storage/storageAccounts/queueServices/queues"));
        Assert.Contains(StorageOptions.RenewalQueueName + "-poison", ChildNames(storage, "Microsoft.Storage/storageAccounts/queueServices/queues"));
        Assert.All(storage.ResourcesOfType("Microsoft.Storage/storageAccounts/blobServices/containers"), container => Assert.Equal("None", (string?)container["properties"]!["publicAccess"]));
    }

    [Fact]
    public void Connection_backups_go_to_a_private_container_of_a_blob_service_with_versioning_and_soft_delete_whose_old_versions_expire()
    {
        var storage = compiled.ModuleWith("Microsoft.Storage/storageAccounts");
        var blobService = storage.Resource("Microsoft.Storage/storageAccounts/blobServices")["properties"]!;

        Assert.True((bool?)blobService["isVersioningEnabled"]);
        Assert.True((bool?)blobService["deleteRetentionPolicy"]!["enabled"]);
        Assert.Equal(30, (int?)blobService["deleteRetentionPolicy"]!["days"]);
        Assert.True((bool?)blobService["containerDeleteRetentionPolicy"]!["enabled"]);
        Assert.Equal(30, (int?)blobService["containerDeleteRetentionPolicy"]!["days"]);
        Assert.Contains("connections-backup", ChildNames(storage, "Microsoft.Storage/storageAccounts/blobServices/containers"));

        // Versions of every blob (the host's state blobs too) would pile up: a previous version goes after 30 days.
        var rule = Assert.Single(storage.Resource("Microsoft.Storage/storageAccounts/managementPolicies")["properties"]!["policy"]!["rules"]!.AsArray())!;
        Assert.Equal(30, (int?)rule["definition"]!["actions"]!["version"]!["delete"]!["daysAfterCreationGreaterThan"]);
        Assert.Equal("[reference('storage').outputs.backupContainerName.value]", (string?)compiled.Root["outputs"]!["AZURE_BACKUP_CONTAINER"]!["value"]);
    }

    [Fact]
    public void Key_Vault_uses_RBAC_and_soft_delete()
    {
        var vault = compiled.ModuleWith("Microsoft.KeyVault/vaults").Resource("Microsoft.KeyVault/vaults")["properties"]!;

        Assert.True((bool?)vault["enableRbacAuthorization"]);
        Assert.True((bool?)vault["enableSoftDelete"]);
        Assert.Equal("Enabled", (string?)vault["publicNetworkAccess"]);
        Assert.Null(vault["accessPolicies"]);
    }

    [Fact]
    public void Key_Vault_has_purge_protection_and_90_days_of_soft_delete_unless_a_throwaway_environment_turns_both_off()
    {
        var keyVault = compiled.ModuleWith("Microsoft.KeyVault/vaults");
        var vault = keyVault.Resource("Microsoft.KeyVault/vaults")["properties"]!;

        Assert.Equal("[if(greater(parameters('retentionDays'), 0), parameters('retentionDays'), if(parameters('purgeProtection'), 90, 7))]", (string?)vault["softDeleteRetentionInDays"]);
        Assert.Equal("[parameters('keyVaultRetentionDays')]", (string?)keyVault.Resolve(JsonValue.Create("[parameters('retentionDays')]")));
        Assert.Equal(0, (int?)compiled.Root["parameters"]!["keyVaultRetentionDays"]!["defaultValue"]);
        // "false" is refused by the API: off means the property is left out.
        Assert.Equal("[if(parameters('purgeProtection'), true(), null())]", (string?)vault["enablePurgeProtection"]);
        Assert.Equal("[parameters('keyVaultPurgeProtection')]", (string?)keyVault.Resolve(JsonValue.Create("[parameters('purgeProtection')]")));
        Assert.True((bool?)compiled.Root["parameters"]!["keyVaultPurgeProtection"]!["defaultValue"]);
        Assert.Equal("bool", (string?)compiled.Root["parameters"]!["keyVaultPurgeProtection"]!["type"]);
    }

    [Fact]
    public void Application_Insights_accepts_Entra_ID_only()
    {
        var monitoring = compiled.ModuleWith("Microsoft.Insights/components");

        Assert.True((bool?)monitoring.Resource("Microsoft.Insights/components")["properties"]!["DisableLocalAuth"]);
        Assert.Single(monitoring.ResourcesOfType("Microsoft.OperationalInsights/workspaces"));
    }

    [Fact]
    public void Identity_gets_its_blob_roles_on_its_containers_only_and_the_other_data_roles_where_it_uses_them()
    {
        var rbac = compiled.ModuleWith("Microsoft.Authorization/roleAssignments");
        var granted = Grants(rbac).Where(g => g.Principal == "ServicePrincipal").ToList();

        Assert.Equal(
            new[] { BlobContributor, BlobOwner, QueueContributor, TableContributor, SecretsUser, MetricsPublisher }.Order(),
            granted.Select(g => g.Role).Order());
        Assert.All(granted, g => Assert.Null(g.Condition));

        // Blob: the deployment container (Contributor) and each of the host's containers (Owner), never the account.
        var deployment = Assert.Single(granted, g => g.Role == BlobContributor);
        Assert.Equal("[resourceId('Microsoft.Storage/storageAccounts/blobServices/containers', parameters('storageAccountName'), 'default', parameters('deploymentContainerName'))]", deployment.Scope);
        var host = Assert.Single(granted, g => g.Role == BlobOwner);
        Assert.Equal("[resourceId('Microsoft.Storage/storageAccounts/blobServices/containers', parameters('storageAccountName'), 'default', parameters('hostContainerNames')[copyIndex()])]", host.Scope);
        Assert.Equal("[variables('names').deploymentContainer]", (string?)rbac.Resolve(JsonValue.Create("[parameters('deploymentContainerName')]")));
        Assert.Equal("[variables('names').hostContainers]", (string?)rbac.Resolve(JsonValue.Create("[parameters('hostContainerNames')]")));
        Assert.Equal("app-package", (string?)compiled.Root["variables"]!["names"]!["deploymentContainer"]);
        Assert.Equal(["azure-webjobs-hosts", "azure-webjobs-secrets"], compiled.Root["variables"]!["names"]!["hostContainers"]!.AsArray().Select(name => (string?)name));
        Assert.DoesNotContain(granted, g => g.Role is BlobOwner or BlobContributor && !g.Scope.Contains("/containers", StringComparison.Ordinal));

        // Queue and table on the account (the host makes a diagnostics table per month), secrets read-only on the vault.
        Assert.All(granted.Where(g => g.Role is QueueContributor or TableContributor), g => Assert.Equal("[resourceId('Microsoft.Storage/storageAccounts', parameters('storageAccountName'))]", g.Scope));
        Assert.Contains("Microsoft.KeyVault/vaults", Assert.Single(granted, g => g.Role == SecretsUser).Scope, StringComparison.Ordinal);
        Assert.Contains("Microsoft.Insights/components", Assert.Single(granted, g => g.Role == MetricsPublisher).Scope, StringComparison.Ordinal);

        // The host's containers exist before the host does: a role on a container can't create it.
        var storage = compiled.ModuleWith("Microsoft.Storage/storageAccounts");
        Assert.Equal("[variables('names').hostContainers]", (string?)storage.Resolve(JsonValue.Create("[parameters('hostContainerNames')]")));
        Assert.Contains(storage.ResourcesOfType("Microsoft.Storage/storageAccounts/blobServices/containers"), container =>
            ((string)container["name"]!).Contains("parameters('hostContainerNames')[copyIndex()]", StringComparison.Ordinal));
    }

    [Fact]
    public void The_deploying_principal_gets_data_roles_only_when_asked_and_as_the_principal_type_azd_reports()
    {
        var rbac = compiled.ModuleWith("Microsoft.Authorization/roleAssignments");
        var deployer = Grants(rbac).Where(g => g.Principal != "ServicePrincipal").ToList();

        Assert.Equal(new[] { BlobOwner, QueueContributor, TableContributor, SecretsOfficer }.Order(), deployer.Select(g => g.Role).Order());
        Assert.All(deployer, g => Assert.Equal("[parameters('deployerPrincipalType')]", g.Principal));
        Assert.All(deployer, g => Assert.Equal("[variables('grantDeployer')]", g.Condition));
        Assert.Equal("[and(parameters('deployerDataAccess'), not(empty(parameters('deployerPrincipalId'))))]", (string?)rbac.Template["variables"]!["grantDeployer"]);

        // main passes azd's principal id and type through, and data access is off unless asked for.
        Assert.Equal("[parameters('principalId')]", (string?)rbac.Resolve(JsonValue.Create("[parameters('deployerPrincipalId')]")));
        Assert.Equal("[parameters('principalType')]", (string?)rbac.Resolve(JsonValue.Create("[parameters('deployerPrincipalType')]")));
        Assert.Equal("[parameters('deployerDataAccess')]", (string?)rbac.Resolve(JsonValue.Create("[parameters('deployerDataAccess')]")));
        var parameters = compiled.Root["parameters"]!;
        Assert.False((bool?)parameters["deployerDataAccess"]!["defaultValue"]);
        Assert.Equal("User", (string?)parameters["principalType"]!["defaultValue"]);
        Assert.Equal(["User", "ServicePrincipal", "Group"], parameters["principalType"]!["allowedValues"]!.AsArray().Select(value => (string?)value));
        Assert.DoesNotContain("'User'", rbac.Template.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Main_creates_the_resource_group_named_after_the_environment_and_tags_it_for_azd()
    {
        var group = Arm.Resources(compiled.Root).Single(resource => (string?)resource["type"] == "Microsoft.Resources/resourceGroups");
        var variables = compiled.Root["variables"]!;

        Assert.Equal("[variables('names').resourceGroup]", (string?)group["name"]);
        Assert.Equal("[format('rg-{0}', parameters('environmentName'))]", (string?)variables["names"]!["resourceGroup"]);
        Assert.Equal("[variables('tags')]", (string?)group["tags"]);
        Assert.Equal("[parameters('environmentName')]", (string?)variables["tags"]!["azd-env-name"]);
        // Every module that creates tagged resources gets the same tags (the role assignments take none).
        var tagged = compiled.Modules.Where(module => module.Template["parameters"]!["tags"] is not null).ToList();
        Assert.Equal(7, tagged.Count);
        Assert.All(tagged, module => Assert.Equal("[variables('tags')]", (string?)module.Deployment["properties"]!["parameters"]!["tags"]!["value"]));
    }

    [Fact]
    public void Main_outputs_what_azd_and_the_deploy_guide_use()
    {
        var outputs = compiled.Root["outputs"]!.AsObject();

        Assert.Equal(
            new[]
            {
                "AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME", "SERVICE_API_NAME",
                "SERVICE_API_URI", "FRESHBOOKS_REDIRECT_URI", "ONBOARDING_LINK_COMMAND", "AZURE_KEY_VAULT_NAME", "AZURE_STORAGE_ACCOUNT_NAME",
                "AZURE_BACKUP_CONTAINER",
            }.Order(StringComparer.Ordinal),
            outputs.Select(pair => pair.Key).Order(StringComparer.Ordinal));
        var command = (string?)outputs["ONBOARDING_LINK_COMMAND"]!["value"];
        Assert.Contains("curl -X POST \"https://{0}/api/onboarding-links?code=<function key>\"", command, StringComparison.Ordinal);
        Assert.Contains("-H \"Content-Type: application/json\" -d ''{{\"tenantId\":\"acme\"}}''", command, StringComparison.Ordinal);
        Assert.Contains("az functionapp keys list -g {1} -n {2}", command, StringComparison.Ordinal);
    }

    [Fact]
    public void Parameters_file_fills_every_parameter_from_the_azd_environment()
    {
        var file = JsonNode.Parse(File.ReadAllText(Repo.PathTo("infra", "main.parameters.json")))!["parameters"]!.AsObject();
        var expected = new Dictionary<string, string>
        {
            ["environmentName"] = "${AZURE_ENV_NAME}",
            ["location"] = "${AZURE_LOCATION}",
            ["principalId"] = "${AZURE_PRINCIPAL_ID}",
            ["principalType"] = "${AZURE_PRINCIPAL_TYPE}",
            ["freshBooksClientId"] = "${FRESHBOOKS_CLIENT_ID}",
            ["freshBooksClientSecret"] = "${FRESHBOOKS_CLIENT_SECRET}",
            ["freshBooksScopes"] = "${FRESHBOOKS_SCOPES}",
            ["freshBooksUsePkce"] = "${FRESHBOOKS_USE_PKCE}",
            ["eventsWebhookUrl"] = "${EVENTS_WEBHOOK_URL}",
            ["onboardingProductName"] = "${ONBOARDING_PRODUCT_NAME}",
            ["onboardingConfirmPage"] = "${ONBOARDING_CONFIRM_PAGE}",
            ["onboardingAllowedReturnUrls"] = "${ONBOARDING_ALLOWED_RETURN_URLS}",
            ["deployerDataAccess"] = "${DEPLOYER_DATA_ACCESS}",
            ["keyVaultPurgeProtection"] = "${KEY_VAULT_PURGE_PROTECTION}",
            ["keyVaultRetentionDays"] = "${KEY_VAULT_RETENTION_DAYS}",
            ["deleteLocks"] = "${DELETE_LOCKS}",
            ["alertEmail"] = "${ALERT_EMAIL}",
            ["tokenKeyIds"] = "${TOKEN_KEY_IDS}",
            ["tokenCurrentKeyId"] = "${TOKEN_CURRENT_KEY_ID}",
        };

        Assert.Equal(expected.OrderBy(pair => pair.Key), file.ToDictionary(pair => pair.Key, pair => (string)pair.Value!["value"]!).OrderBy(pair => pair.Key));
        Assert.Equal(
            expected.Keys.Order(StringComparer.Ordinal),
            compiled.Root["parameters"]!.AsObject().Select(pair => pair.Key).Order(StringComparer.Ordinal));
        Assert.Equal("subscription", TargetScope());
    }

    /// <summary>
    /// A setting name looks secret when one of its segments (split on "__") ends with Secret, Key,
    /// Keys, Password or ConnectionString (underscores ignored). "CurrentKeyId" names a key, it isn't one.
    /// </summary>
    internal static bool LooksSecret(string name) =>
        name != "APPLICATIONINSIGHTS_CONNECTION_STRING"
        && SecretName().IsMatch(name.Replace("__", ":", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal));

    [GeneratedRegex("(secret|password|connectionstring|key|keys)(:|$)", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    [GeneratedRegex(@"^\[format\('@Microsoft\.KeyVault\(SecretUri=\{0\}\)', parameters\('([^']+)'\)\)\]$")]
    private static partial Regex KeyVaultFormat();

    private string SymbolicName(JsonObject deployment) =>
        compiled.Root["resources"] is JsonObject byName
            ? byName.Single(pair => ReferenceEquals(pair.Value, deployment)).Key
            : throw new InvalidOperationException("Expected symbolic names (languageVersion 2.0) in the compiled template.");

    private string TargetScope() =>
        ((string?)compiled.Root["$schema"])!.Contains("subscriptionDeploymentTemplate", StringComparison.Ordinal) ? "subscription" : "other";

    private static string LastNameSegment(string name) =>
        Regex.Match(name, @"'([^']+)'\)\]$") is { Success: true } match ? match.Groups[1].Value : name.Split('/')[^1];

    /// <summary>Names of a child resource type: a literal last segment, or the items of a copy loop's variable.</summary>
    private static List<string> ChildNames(Module module, string type) =>
        module.ResourcesOfType(type)
            .SelectMany(resource =>
            {
                var name = (string)resource["name"]!;
                var loop = Regex.Match(name, @"variables\('([^']+)'\)\[copyIndex\(\)\]");
                return loop.Success
                    ? module.Template["variables"]![loop.Groups[1].Value]!.AsArray().Select(item => (string)item!)
                    : [LastNameSegment(name)];
            })
            .Order(StringComparer.Ordinal)
            .ToList();

    private const string BlobOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string BlobContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    private const string QueueContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string TableContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string SecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
    private const string SecretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";
    private const string MetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";

    private static List<(string Role, string? Principal, string Scope, string? Condition)> Grants(Module rbac) =>
        rbac.ResourcesOfType("Microsoft.Authorization/roleAssignments")
            .SelectMany(assignment => RoleIds(rbac, assignment).Select(role => (
                role,
                (string?)assignment["properties"]!["principalType"],
                (string?)assignment["scope"] ?? "",
                (string?)assignment["condition"])))
            .ToList();

    /// <summary>Role definition ids an assignment grants: a literal variable property, or the items of a copy loop's variable.</summary>
    private static IEnumerable<string> RoleIds(Module module, JsonObject assignment)
    {
        var definition = (string)assignment["properties"]!["roleDefinitionId"]!;
        var variables = module.Template["variables"]!;
        var loop = Regex.Match(definition, @"variables\('([^']+)'\)\[copyIndex\(\)\]");
        if (loop.Success)
        {
            return variables[loop.Groups[1].Value]!.AsArray().Select(item => Unvariable(variables, (string)item!));
        }

        var single = Regex.Match(definition, @"variables\('([^']+)'\)\.(\w+)");
        return single.Success ? [(string)variables[single.Groups[1].Value]![single.Groups[2].Value]!] : [definition];
    }

    private static string Unvariable(JsonNode variables, string value)
    {
        var reference = Regex.Match(value, @"^\[variables\('([^']+)'\)\.(\w+)\]$");
        return reference.Success ? (string)variables[reference.Groups[1].Value]![reference.Groups[2].Value]! : value;
    }
}
