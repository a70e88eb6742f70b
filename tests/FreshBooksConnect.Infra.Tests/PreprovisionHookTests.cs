using FreshBooksConnect.Infra.Tests.Infrastructure;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>infra/hooks/preprovision.sh run by sh, as azd runs it, against a stand-in azd.</summary>
public sealed class PreprovisionHookTests : IDisposable
{
    private readonly HookSandbox sandbox = new();

    public void Dispose() => sandbox.Dispose();

    [Fact]
    public async Task Without_FreshBooks_credentials_it_fails_naming_both_and_stores_nothing()
    {
        var run = await sandbox.RunAsync("preprovision.sh");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("FRESHBOOKS_CLIENT_ID", run.StandardError, StringComparison.Ordinal);
        Assert.Contains("azd env set FRESHBOOKS_CLIENT_SECRET", run.StandardError, StringComparison.Ordinal);
        Assert.Empty(sandbox.Env());
    }

    [Fact]
    public async Task Without_the_client_secret_it_fails_naming_only_the_secret()
    {
        sandbox.Store("FRESHBOOKS_CLIENT_ID", "client-123");

        var run = await sandbox.RunAsync("preprovision.sh");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("FRESHBOOKS_CLIENT_SECRET", run.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("FRESHBOOKS_CLIENT_ID", run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_credentials_it_passes_and_puts_no_key_in_the_azd_environment()
    {
        sandbox.StoreCredentials();
        var before = sandbox.EnvFileText;

        var run = await sandbox.RunAsync("preprovision.sh");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(before, sandbox.EnvFileText);
        Assert.DoesNotContain("secret-456", run.StandardOutput + run.StandardError, StringComparison.Ordinal);
    }
}
