using FreshBooksConnect.Infra.Tests.Infrastructure;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>
/// infra/scripts/rotate-link-key.sh by sh against stand-in azd and az: a new version of the link signing key reaches the vault and
/// nothing else (not the azd environment, no process's arguments, no output), the token key is left alone, the app is restarted
/// so it reads the new version, and the script says that links made before stop working.
/// </summary>
public sealed class RotateLinkKeyScriptTests : IDisposable
{
    private const string Script = "../scripts/rotate-link-key.sh";
    private const string OldLinkKey = "link-key-0123456789abcdefghijklmnopqrstuvw=";
    private const string TokenKey = "q3Jm1cP2nB0sW7yR4tV9xZ6aE8dG5hK2lM1oN3pQ7rS=";
    private readonly HookSandbox _sandbox = new();

    public RotateLinkKeyScriptTests()
    {
        _sandbox.StoreCredentials();
        _sandbox.StoreProvisionOutputs();
        _sandbox.StoreSecret("token-encryption-key", TokenKey);
        _sandbox.StoreSecret("onboarding-signing-key", OldLinkKey);
    }

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task Rotation_writes_a_new_link_key_to_the_vault_only_restarts_the_app_and_says_old_links_stop_working()
    {
        var run = await _sandbox.RunAsync(Script);

        Assert.True(run.ExitCode == 0, run.ToString());
        var secrets = _sandbox.Secrets();
        var linkKey = secrets["onboarding-signing-key"];
        Assert.NotEqual(OldLinkKey, linkKey);
        Assert.Equal(32, Convert.FromBase64String(linkKey).Length);
        Assert.Equal(TokenKey, secrets["token-encryption-key"]);
        Assert.Equal(1, _sandbox.Restarts);
        Assert.Empty(_sandbox.Provisions());
        Assert.Contains("Links made before now no longer work", run.StandardOutput, StringComparison.Ordinal);

        foreach (var secret in new[] { linkKey, OldLinkKey, TokenKey })
        {
            Assert.DoesNotContain(secret, _sandbox.EnvFileText, StringComparison.Ordinal);
            Assert.All(_sandbox.AllArguments(), arguments => Assert.DoesNotContain(secret, arguments, StringComparison.Ordinal));
            Assert.DoesNotContain(secret, run.StandardOutput + run.StandardError, StringComparison.Ordinal);
        }

        var deployment = Assert.Single(_sandbox.Deployments());
        Assert.Equal("600", (string?)deployment["mode"]);
        Assert.False(File.Exists((string?)deployment["parametersFile"]));
    }

    [Fact]
    public async Task Without_the_provision_outputs_it_changes_nothing()
    {
        using var bare = new HookSandbox();
        bare.StoreCredentials();
        bare.StoreSecret("onboarding-signing-key", OldLinkKey);

        var run = await bare.RunAsync(Script);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("lacks the provision's outputs (AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP, AZURE_KEY_VAULT_NAME, AZURE_FUNCTION_APP_NAME); run azd up (or azd provision) first", run.StandardError, StringComparison.Ordinal);
        Assert.Equal(OldLinkKey, bare.Secrets()["onboarding-signing-key"]);
        Assert.Empty(bare.Deployments());
        Assert.Equal(0, bare.Restarts);
    }
}
