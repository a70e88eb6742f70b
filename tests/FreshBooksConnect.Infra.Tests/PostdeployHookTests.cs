using FreshBooksConnect.Infra.Tests.Infrastructure;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>
/// infra/hooks/postdeploy.sh: the deployed app answers /api/health with every key setting set, its
/// Key Vault references resolved, and the redirect URI on its real host name. Stand-in az and curl.
/// </summary>
public sealed class PostdeployHookTests : IDisposable
{
    private readonly HookSandbox _sandbox = new();

    public PostdeployHookTests()
    {
        _sandbox.StoreCredentials();
        _sandbox.StoreProvisionOutputs();
    }

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task A_healthy_app_passes_and_the_hook_shows_which_settings_are_set()
    {
        var run = await _sandbox.RunAsync("postdeploy.sh");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("matches the app's host name", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("\"TokenProtection__Keys__k1\":\"set\"", run.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(0, _sandbox.Restarts);
    }

    [Fact]
    public async Task An_app_that_only_comes_up_after_a_restart_is_restarted_once_and_then_passes()
    {
        // The first deploy's race: the host started before its storage roles took effect.
        _sandbox.SetState("health-down-until-restart");

        // The restart comes halfway through the time-out.
        var run = await _sandbox.RunAsync("postdeploy.sh", TimeOut(20));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(1, _sandbox.Restarts);
        Assert.Contains("answered 503", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unresolved_Key_Vault_reference_fails_the_deploy_naming_the_setting_and_its_status()
    {
        _sandbox.SetState("unresolved", "TokenProtection__Keys__k1\tSecretNotFound\n");

        var run = await _sandbox.RunAsync("postdeploy.sh", TimeOut(6));

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("TokenProtection__Keys__k1 SecretNotFound", run.StandardError, StringComparison.Ordinal);
        Assert.Equal(1, _sandbox.Restarts);
    }

    [Fact]
    public async Task A_setting_health_reports_as_an_unresolved_reference_fails_the_deploy()
    {
        _sandbox.SetState("health-body", """{"status":"ok","settings":{"FreshBooks__ClientSecret":"unresolved","Onboarding__SigningKey":"set","TokenProtection__Keys__k1":"set"}}""");

        var run = await _sandbox.RunAsync("postdeploy.sh", TimeOut(6));

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("\"FreshBooks__ClientSecret\":\"unresolved\"", run.StandardError, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> TimeOut(int seconds) =>
        new() { ["POSTDEPLOY_TIMEOUT_SECONDS"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    [Fact]
    public async Task A_redirect_uri_that_is_not_on_the_apps_real_host_name_fails_naming_both()
    {
        _sandbox.SetState("hostname", "func-api-test0token-abcdef.eastus2-01.azurewebsites.net");

        var run = await _sandbox.RunAsync("postdeploy.sh");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("func-api-test0token-abcdef.eastus2-01.azurewebsites.net", run.StandardError, StringComparison.Ordinal);
        Assert.Contains($"https://{HookSandbox.HostName}/api/callback", run.StandardError, StringComparison.Ordinal);
    }
}
