using System.Security.Cryptography;
using FreshBooksConnect.Infra.Tests.Infrastructure;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>
/// infra/hooks/postprovision.sh: Key Vault is the only home of the app's keys. The hook runs by sh
/// against stand-in azd and az (a vault of files) that record every argument they are given.
/// </summary>
public sealed class PostprovisionHookTests : IDisposable
{
    private const string TokenKey = "token-encryption-key";
    private const string SigningKey = "onboarding-signing-key";
    private const string EventsSecret = "events-signing-secret";

    private readonly HookSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task A_new_environment_gets_three_different_random_32_byte_keys_in_the_vault_and_a_restart()
    {
        _sandbox.StoreCredentials();
        _sandbox.StoreProvisionOutputs();

        var run = await _sandbox.RunAsync("postprovision.sh");

        Assert.True(run.ExitCode == 0, run.ToString());
        var secrets = _sandbox.Secrets();
        var token = Convert.FromBase64String(secrets[TokenKey]);
        var signing = Convert.FromBase64String(secrets[SigningKey]);
        var events = WebhookSecretBytes(secrets[EventsSecret]);
        Assert.Equal(32, token.Length);
        Assert.Equal(32, signing.Length);
        Assert.Equal(32, events.Length);
        Assert.Equal(3, new[] { token, signing, events }.Select(Convert.ToBase64String).Distinct().Count());
        Assert.Equal(1, _sandbox.Restarts);
        Assert.Contains($"{TokenKey}: created in Key Vault {HookSandbox.Vault}", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"{EventsSecret}: created in Key Vault {HookSandbox.Vault} (whsec_ and 32 random bytes).", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_events_signing_secret_is_whsec_and_the_base64_of_32_random_bytes_the_Standard_Webhooks_form()
    {
        _sandbox.StoreCredentials();
        _sandbox.StoreProvisionOutputs();

        var run = await _sandbox.RunAsync("postprovision.sh");

        Assert.True(run.ExitCode == 0, run.ToString());
        var secret = _sandbox.Secrets()[EventsSecret];
        Assert.Matches("^whsec_[A-Za-z0-9+/]{43}=$", secret);
        Assert.Equal(32, WebhookSecretBytes(secret).Length);
        // The StandardWebhooks package takes it as it is: a signature made with it verifies with the same secret.
        var webhook = new StandardWebhooks.StandardWebhook(secret);
        var signature = webhook.Sign("evt_1", DateTimeOffset.UnixEpoch, "{}");
        Assert.StartsWith("v1,", signature, StringComparison.Ordinal);
        Assert.NotEqual(signature, new StandardWebhooks.StandardWebhook("whsec_" + Convert.ToBase64String(new byte[32])).Sign("evt_1", DateTimeOffset.UnixEpoch, "{}"));
    }

    [Fact]
    public async Task An_environment_from_before_events_gets_only_the_events_secret_keeps_its_keys_and_restarts_at_once()
    {
        var tokenKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        _sandbox.StoreSecret(TokenKey, tokenKey);
        _sandbox.StoreSecret(SigningKey, signingKey);
        _sandbox.StoreCredentials();
        _sandbox.StoreProvisionOutputs();

        // A wait would show: this environment's role assignments are old, so there is none.
        var run = await _sandbox.RunAsync("postprovision.sh", new Dictionary<string, string?> { ["ROLE_PROPAGATION_WAIT_SECONDS"] = "30" });

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(tokenKey, _sandbox.Secrets()[TokenKey]);
        Assert.Equal(signingKey, _sandbox.Secrets()[SigningKey]);
        Assert.Equal(32, WebhookSecretBytes(_sandbox.Secrets()[EventsSecret]).Length);
        var deployment = Assert.Single(_sandbox.Deployments());
        Assert.Equal(["vaultName", "eventsSigningSecret"], deployment["parameters"]!.AsArray().Select(name => (string?)name));
        Assert.DoesNotContain("waiting", run.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(1, _sandbox.Restarts);
    }

    [Fact]
    public async Task New_keys_travel_in_a_parameters_file_only_its_user_can_read_which_is_gone_afterwards()
    {
        _sandbox.StoreCredentials();
        _sandbox.StoreProvisionOutputs();

        var run = await _sandbox.RunAsync("postprovision.sh");

        Assert.True(run.ExitCode == 0, run.ToString());
        var deployment = Assert.Single(_sandbox.Deployments());
        Assert.Equal("app-keys.bicep", (string?)deployment["template"]);
        Assert.Equal(HookSandbox.ResourceGroup, (string?)deployment["resourceGroup"]);
        Assert.Equal("600", (string?)deployment["mode"]);
        Assert.False(File.Exists((string)deployment["parametersFile"]!), "The parameters file with the keys was left behind.");
        Assert.Equal(["vaultName", "tokenEncryptionKey", "onboardingSigningKey", "eventsSigningSecret"], deployment["parameters"]!.AsArray().Select(name => (string?)name));
    }

    [Fact]
    public async Task A_provision_from_a_clean_clone_against_an_existing_environment_keeps_the_vaults_keys_byte_for_byte()
    {
        // The environment exists in Azure with its keys; this machine has a fresh .azure folder.
        var tokenKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var eventsSecret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        _sandbox.StoreSecret(TokenKey, tokenKey);
        _sandbox.StoreSecret(SigningKey, signingKey);
        _sandbox.StoreSecret(EventsSecret, eventsSecret);
        _sandbox.StoreCredentials();

        var pre = await _sandbox.RunAsync("preprovision.sh");
        _sandbox.StoreProvisionOutputs();
        var post = await _sandbox.RunAsync("postprovision.sh");

        Assert.True(pre.ExitCode == 0, pre.ToString());
        Assert.True(post.ExitCode == 0, post.ToString());
        Assert.Equal(new Dictionary<string, string> { [TokenKey] = tokenKey, [SigningKey] = signingKey, [EventsSecret] = eventsSecret }, _sandbox.Secrets());
        Assert.Empty(_sandbox.Deployments());
        Assert.Equal(0, _sandbox.Restarts);
        Assert.Contains($"{TokenKey}: in Key Vault {HookSandbox.Vault}, kept.", post.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"{EventsSecret}: in Key Vault {HookSandbox.Vault}, kept.", post.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_provision_keeps_the_keys_the_first_created()
    {
        _sandbox.StoreCredentials();
        _sandbox.StoreProvisionOutputs();
        Assert.Equal(0, (await _sandbox.RunAsync("postprovision.sh")).ExitCode);
        var first = _sandbox.Secrets();

        var second = await _sandbox.RunAsync("postprovision.sh");

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal(3, first.Count);
        Assert.Equal(first, _sandbox.Secrets());
        Assert.Single(_sandbox.Deployments());
        Assert.Equal(1, _sandbox.Restarts);
    }

    [Fact]
    public async Task Only_the_missing_key_is_created_and_the_other_is_not_passed_at_all()
    {
        var tokenKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        _sandbox.StoreSecret(TokenKey, tokenKey);
        _sandbox.StoreCredentials();
        _sandbox.StoreProvisionOutputs();

        var run = await _sandbox.RunAsync("postprovision.sh");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(tokenKey, _sandbox.Secrets()[TokenKey]);
        Assert.Equal(32, Convert.FromBase64String(_sandbox.Secrets()[SigningKey]).Length);
        var deployment = Assert.Single(_sandbox.Deployments());
        Assert.Equal(["vaultName", "onboardingSigningKey", "eventsSigningSecret"], deployment["parameters"]!.AsArray().Select(name => (string?)name));
    }

    [Fact]
    public async Task No_key_value_appears_in_the_azd_environment_in_any_command_line_or_in_hook_output()
    {
        _sandbox.StoreCredentials();
        var pre = await _sandbox.RunAsync("preprovision.sh");
        _sandbox.StoreProvisionOutputs();
        var first = await _sandbox.RunAsync("postprovision.sh");
        var second = await _sandbox.RunAsync("postprovision.sh");

        // Each value whole, and the events secret's base64 alone (without its whsec_ prefix) too.
        var keys = _sandbox.Secrets().Values.SelectMany(key => key.StartsWith("whsec_", StringComparison.Ordinal) ? [key, key["whsec_".Length..]] : new[] { key }).ToList();
        Assert.Equal(4, keys.Count);
        var output = string.Concat(pre.StandardOutput, pre.StandardError, first.StandardOutput, first.StandardError, second.StandardOutput, second.StandardError);
        var arguments = _sandbox.AllArguments();
        Assert.NotEmpty(arguments);
        Assert.All(keys, key =>
        {
            Assert.DoesNotContain(key, _sandbox.EnvFileText, StringComparison.Ordinal);
            Assert.DoesNotContain(key, output, StringComparison.Ordinal);
            Assert.All(arguments, argument => Assert.DoesNotContain(key, argument, StringComparison.Ordinal));
        });
    }

    [Fact]
    public async Task Keys_an_older_template_kept_in_the_azd_environment_are_removed_once_the_vault_holds_them()
    {
        var tokenKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var eventsSecret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        _sandbox.StoreSecret(TokenKey, tokenKey);
        _sandbox.StoreSecret(SigningKey, signingKey);
        _sandbox.StoreSecret(EventsSecret, eventsSecret);
        _sandbox.StoreCredentials();
        _sandbox.Store("TOKEN_ENCRYPTION_KEY", tokenKey);
        _sandbox.Store("ONBOARDING_SIGNING_KEY", signingKey);
        _sandbox.StoreProvisionOutputs();

        var run = await _sandbox.RunAsync("postprovision.sh");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.DoesNotContain("TOKEN_ENCRYPTION_KEY", _sandbox.Env().Keys);
        Assert.DoesNotContain("ONBOARDING_SIGNING_KEY", _sandbox.Env().Keys);
        Assert.Equal(new Dictionary<string, string> { [TokenKey] = tokenKey, [SigningKey] = signingKey, [EventsSecret] = eventsSecret }, _sandbox.Secrets());
        Assert.Empty(_sandbox.Deployments());
        Assert.Contains("TOKEN_ENCRYPTION_KEY: removed from the azd environment", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_the_vault_lacks_is_restored_from_an_older_templates_copy_not_replaced_by_a_new_one()
    {
        var oldTokenKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        _sandbox.StoreSecret(SigningKey, signingKey);
        _sandbox.StoreCredentials();
        _sandbox.Store("TOKEN_ENCRYPTION_KEY", oldTokenKey);
        _sandbox.StoreProvisionOutputs();

        var run = await _sandbox.RunAsync("postprovision.sh");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(oldTokenKey, _sandbox.Secrets()[TokenKey]);
        Assert.Equal(signingKey, _sandbox.Secrets()[SigningKey]);
        Assert.StartsWith("whsec_", _sandbox.Secrets()[EventsSecret], StringComparison.Ordinal);
        Assert.DoesNotContain("TOKEN_ENCRYPTION_KEY", _sandbox.Env().Keys);
        Assert.Contains($"{TokenKey}: restored into Key Vault", run.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(oldTokenKey, run.StandardOutput + run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_the_vault_cannot_be_asked_nothing_is_created_and_the_hook_fails()
    {
        _sandbox.StoreCredentials();
        _sandbox.StoreProvisionOutputs();
        _sandbox.SetState("resource-show-error", "ERROR: (AuthorizationFailed) The client does not have authorization to perform action 'Microsoft.KeyVault/vaults/secrets/read'.");

        var run = await _sandbox.RunAsync("postprovision.sh");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("nothing was created", run.StandardError, StringComparison.Ordinal);
        Assert.Contains("AuthorizationFailed", run.StandardError, StringComparison.Ordinal);
        Assert.Empty(_sandbox.Secrets());
        Assert.Empty(_sandbox.Deployments());
        Assert.Equal(0, _sandbox.Restarts);
    }

    [Fact]
    public async Task Without_an_Azure_CLI_sign_in_it_fails_saying_az_login()
    {
        _sandbox.StoreCredentials();
        _sandbox.StoreProvisionOutputs();
        _sandbox.SetState("signed-out");

        var run = await _sandbox.RunAsync("postprovision.sh");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("az login", run.StandardError, StringComparison.Ordinal);
        Assert.Empty(_sandbox.Secrets());
    }

    [Fact]
    public async Task Without_the_provisions_outputs_it_fails_naming_them()
    {
        _sandbox.StoreCredentials();

        var run = await _sandbox.RunAsync("postprovision.sh");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("AZURE_KEY_VAULT_NAME", run.StandardError, StringComparison.Ordinal);
        Assert.Empty(_sandbox.Secrets());
    }

    /// <summary>The random bytes of a Standard Webhooks secret: base64 after <c>whsec_</c>.</summary>
    private static byte[] WebhookSecretBytes(string secret)
    {
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        return Convert.FromBase64String(secret["whsec_".Length..]);
    }
}
