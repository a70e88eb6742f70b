using FreshBooksConnect.Infra.Tests.Infrastructure;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>infra/hooks/preprovision.sh run by sh, as azd runs it, against a stand-in azd.</summary>
public sealed class PreprovisionHookTests : IDisposable
{
    private readonly HookSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task Without_FreshBooks_credentials_it_fails_naming_both_and_stores_nothing()
    {
        var run = await _sandbox.RunAsync("preprovision.sh");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("FRESHBOOKS_CLIENT_ID", run.StandardError, StringComparison.Ordinal);
        Assert.Contains("azd env set FRESHBOOKS_CLIENT_SECRET", run.StandardError, StringComparison.Ordinal);
        Assert.Empty(_sandbox.Env());
    }

    [Fact]
    public async Task Without_the_client_secret_it_fails_naming_only_the_secret()
    {
        _sandbox.Store("FRESHBOOKS_CLIENT_ID", "client-123");

        var run = await _sandbox.RunAsync("preprovision.sh");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("FRESHBOOKS_CLIENT_SECRET", run.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("FRESHBOOKS_CLIENT_ID", run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_credentials_it_passes_and_puts_no_key_in_the_azd_environment()
    {
        _sandbox.StoreCredentials();
        var before = _sandbox.EnvFileText;

        var run = await _sandbox.RunAsync("preprovision.sh");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(before, _sandbox.EnvFileText);
        Assert.DoesNotContain("secret-456", run.StandardOutput + run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_existing_vault_keeps_its_own_retention_which_the_same_runs_provision_reads()
    {
        // A vault an older template made has 7 days of soft delete, and a vault's retention can't change.
        _sandbox.StoreCredentials();
        _sandbox.StoreProvisionOutputs();
        _sandbox.SetState("vault-retention", "7");

        var run = await _sandbox.RunAsync("preprovision.sh");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("7", _sandbox.Env()["KEY_VAULT_RETENTION_DAYS"]);
        Assert.Contains("7-day soft-delete retention", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_environment_or_a_retention_already_chosen_is_left_to_the_template()
    {
        _sandbox.StoreCredentials();
        var fresh = await _sandbox.RunAsync("preprovision.sh");
        _sandbox.StoreProvisionOutputs();
        _sandbox.Store("KEY_VAULT_RETENTION_DAYS", "30");
        _sandbox.SetState("vault-retention", "7");
        var chosen = await _sandbox.RunAsync("preprovision.sh");

        Assert.True(fresh.ExitCode == 0, fresh.ToString());
        Assert.True(chosen.ExitCode == 0, chosen.ToString());
        Assert.Equal("30", _sandbox.Env()["KEY_VAULT_RETENTION_DAYS"]);
        Assert.DoesNotContain(_sandbox.AzCommands(), command => command.StartsWith("keyvault", StringComparison.Ordinal));
    }
}
