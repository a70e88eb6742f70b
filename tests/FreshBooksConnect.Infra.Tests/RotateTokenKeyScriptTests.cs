using FreshBooksConnect.Infra.Tests.Infrastructure;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>
/// infra/scripts/rotate-token-key.sh and the preprovision hook's token key ids, by sh against stand-in azd, az and curl: a new
/// key reaches the vault and nothing else (not the azd environment, no process's arguments, no output), the old keys stay
/// byte for byte, and the script waits for GET /api/keys before it says an old key may be retired.
/// </summary>
public sealed class RotateTokenKeyScriptTests : IDisposable
{
    private const string Script = "../scripts/rotate-token-key.sh";
    private const string K1 = "q3Jm1cP2nB0sW7yR4tV9xZ6aE8dG5hK2lM1oN3pQ7rS=";
    private const string Master = "master-key-not-to-be-seen-0123";
    private readonly HookSandbox _sandbox = new();

    public RotateTokenKeyScriptTests()
    {
        _sandbox.StoreCredentials();
        _sandbox.StoreProvisionOutputs();
        _sandbox.Store("SERVICE_API_URI", $"https://{HookSandbox.HostName}");
        _sandbox.StoreSecret("token-encryption-key", K1);
        _sandbox.StoreSecret("onboarding-signing-key", "link-key-0123456789abcdefghijklmnopqrstuvw=");
        _sandbox.SetState("master-key", Master);
    }

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public async Task Rotation_adds_k2_to_the_vault_only_provisions_it_known_then_current_and_says_k1_may_be_retired_once_it_protects_nothing()
    {
        _sandbox.SetState("keys-bodies", Keys(("k1", 3), ("k2", 1)) + "\n" + Keys(("k1", 0), ("k2", 4)) + "\n");

        var run = await _sandbox.RunAsync(Script);

        Assert.True(run.ExitCode == 0, run.ToString());
        var secrets = _sandbox.Secrets();
        Assert.Equal(K1, secrets["token-encryption-key"]);
        var k2 = secrets["token-encryption-key-k2"];
        Assert.Equal(32, Convert.FromBase64String(k2).Length);

        // Known first (pending), then current: two provisions, and nothing pending afterwards.
        Assert.Equal(["TOKEN_KEY_PENDING=k2", "TOKEN_KEY_PENDING="], _sandbox.Provisions());
        Assert.False(_sandbox.Env().ContainsKey("TOKEN_KEY_PENDING"));
        Assert.Contains("k1 protect no connection and may be retired", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("3 connection(s) still under an older key", run.StandardOutput, StringComparison.Ordinal);

        // No key (new or old) and no master key in the azd environment, in any process's arguments, or in the output.
        foreach (var secret in new[] { k2, K1, Master })
        {
            Assert.DoesNotContain(secret, _sandbox.EnvFileText, StringComparison.Ordinal);
            Assert.All(_sandbox.AllArguments(), arguments => Assert.DoesNotContain(secret, arguments, StringComparison.Ordinal));
            Assert.DoesNotContain(secret, run.StandardOutput + run.StandardError, StringComparison.Ordinal);
        }

        Assert.Contains("x-functions-key: " + Master, _sandbox.CurlConfig, StringComparison.Ordinal);
        var deployment = Assert.Single(_sandbox.Deployments());
        Assert.Equal("600", (string?)deployment["mode"]);
        Assert.False(File.Exists((string?)deployment["parametersFile"]));
    }

    [Fact]
    public async Task A_second_rotation_adds_k3_and_waits_for_both_older_keys()
    {
        _sandbox.StoreSecret("token-encryption-key-k2", "k2-0123456789abcdefghijklmnopqrstuvwxyzABCD=");
        _sandbox.SetState("keys-bodies", Keys(("k1", 1), ("k2", 2), ("k3", 0)) + "\n" + Keys(("k1", 0), ("k2", 1), ("k3", 2)) + "\n" + Keys(("k1", 0), ("k2", 0), ("k3", 3)) + "\n");

        var run = await _sandbox.RunAsync(Script);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(_sandbox.Secrets().ContainsKey("token-encryption-key-k3"));
        Assert.Contains("k1 k2 protect no connection and may be retired", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_older_keys_still_protect_rows_at_the_time_out_it_fails_and_wait_resumes_without_a_new_key()
    {
        _sandbox.SetState("keys-bodies", Keys(("k1", 2), ("k2", 1)) + "\n");

        var first = await _sandbox.RunAsync(Script, new Dictionary<string, string?> { ["ROTATION_TIMEOUT_SECONDS"] = "5" });
        Assert.Equal(1, first.ExitCode);
        Assert.Contains("--wait", first.StandardError, StringComparison.Ordinal);

        _sandbox.SetState("keys-bodies", Keys(("k1", 0), ("k2", 3)) + "\n");
        _sandbox.SetState("keys-served", "0");
        var resumed = await _sandbox.RunAsync(Script, new Dictionary<string, string?>(), "--wait");

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal(2, _sandbox.Provisions().Count);
        Assert.DoesNotContain(_sandbox.Secrets().Keys, name => name == "token-encryption-key-k3");
    }

    [Fact]
    public async Task A_rotation_stopped_after_adding_its_key_is_finished_by_running_it_again()
    {
        _sandbox.StoreSecret("token-encryption-key-k2", "k2-0123456789abcdefghijklmnopqrstuvwxyzABCD=");
        _sandbox.Store("TOKEN_KEY_PENDING", "k2");
        _sandbox.SetState("keys-bodies", Keys(("k1", 0), ("k2", 3)) + "\n");

        var run = await _sandbox.RunAsync(Script);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(["TOKEN_KEY_PENDING="], _sandbox.Provisions());
        Assert.DoesNotContain("token-encryption-key-k3", _sandbox.Secrets().Keys);
    }

    [Fact]
    public async Task Preprovision_gives_the_template_every_enabled_token_key_in_the_vault_and_the_newest_not_pending_as_current()
    {
        _sandbox.StoreSecret("token-encryption-key-k2", "k2");
        _sandbox.StoreSecret("token-encryption-key-k10", "k10");
        _sandbox.StoreSecret("token-encryption-key-k3", "k3");
        _sandbox.SetState("disabled", "token-encryption-key-k3\n");

        var run = await _sandbox.RunAsync("preprovision.sh");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("k1,k2,k10", _sandbox.Env()["TOKEN_KEY_IDS"]);
        Assert.Equal("k10", _sandbox.Env()["TOKEN_CURRENT_KEY_ID"]);

        _sandbox.Store("TOKEN_KEY_PENDING", "k10");
        Assert.Equal(0, (await _sandbox.RunAsync("preprovision.sh")).ExitCode);
        Assert.Equal("k2", _sandbox.Env()["TOKEN_CURRENT_KEY_ID"]);
        Assert.All(_sandbox.AllArguments(), arguments => Assert.DoesNotContain(K1, arguments, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Preprovision_stops_when_it_cannot_list_the_keys_of_a_vault_that_exists()
    {
        _sandbox.SetState("secrets-list-error");
        _sandbox.SetState("vault-retention", "90");

        var run = await _sandbox.RunAsync("preprovision.sh");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("could not list the token keys", run.StandardError, StringComparison.Ordinal);
        Assert.False(_sandbox.Env().ContainsKey("TOKEN_KEY_IDS"));
    }

    private static string Keys(params (string Id, int Connections)[] keys) =>
        $$"""{"currentKeyId":"{{keys[^1].Id}}","keys":[{{string.Join(",", keys.Select(k => $$"""{"id":"{{k.Id}}","current":{{(k.Id == keys[^1].Id ? "true" : "false")}},"configured":true,"connections":{{k.Connections}}}"""))}}],"unreadable":0}""";
}
