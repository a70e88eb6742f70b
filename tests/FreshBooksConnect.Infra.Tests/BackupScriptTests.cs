using FreshBooksConnect.Infra.Tests.Infrastructure;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>
/// infra/scripts/backup-connections.sh and restore-connections.sh by sh against a stand-in azd and dotnet: they run
/// tools/ConnectionsBackup on this environment's account and backup container, signed in as you (service URIs, no key,
/// no connection string on a command line). The tool itself is tested against Azurite (IntegrationTests/BackupTests).
/// </summary>
public sealed class BackupScriptTests : IDisposable
{
    private const string FakeDotnet = """
        #!/bin/sh
        printf '%s\n' "$*" >> "$FAKE_STATE/dotnet-argv.log"
        echo "blob: connections-20261130T210000Z.jsonl"
        """;

    private readonly HookSandbox _sandbox = new();

    public BackupScriptTests()
    {
        _sandbox.AddStandIn("dotnet", FakeDotnet);
        _sandbox.Store("AZURE_STORAGE_ACCOUNT_NAME", "stfbc0token");
        _sandbox.Store("AZURE_BACKUP_CONTAINER", "connections-backup");
    }

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task Backup_exports_this_environments_tables_to_its_backup_container_as_you()
    {
        var run = await _sandbox.RunAsync("../scripts/backup-connections.sh");

        Assert.True(run.ExitCode == 0, run.ToString());
        var arguments = Assert.Single(File.ReadAllLines(_sandbox.StateFile("dotnet-argv.log")));
        Assert.Matches("^run --project .+/tools/ConnectionsBackup -- export --tables https://stfbc0token.table.core.windows.net/ --blobs https://stfbc0token.blob.core.windows.net/ --container connections-backup$", arguments);
        Assert.Contains("blob: connections-", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_takes_the_latest_backup_into_this_environments_account_unless_told_otherwise()
    {
        var latest = await _sandbox.RunAsync("../scripts/restore-connections.sh");
        var chosen = await _sandbox.RunAsync("../scripts/restore-connections.sh", null, "--blob", "connections-1.jsonl", "--to-account", "stother");
        var bad = await _sandbox.RunAsync("../scripts/restore-connections.sh", null, "--key", "x");

        Assert.True(latest.ExitCode == 0, latest.ToString());
        Assert.True(chosen.ExitCode == 0, chosen.ToString());
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("usage", bad.StandardError, StringComparison.Ordinal);
        var calls = File.ReadAllLines(_sandbox.StateFile("dotnet-argv.log"));
        Assert.Equal(2, calls.Length);
        Assert.EndsWith("restore --tables https://stfbc0token.table.core.windows.net/ --blobs https://stfbc0token.blob.core.windows.net/ --container connections-backup --blob latest", calls[0], StringComparison.Ordinal);
        Assert.EndsWith("restore --tables https://stother.table.core.windows.net/ --blobs https://stfbc0token.blob.core.windows.net/ --container connections-backup --blob connections-1.jsonl", calls[1], StringComparison.Ordinal);
    }
}
