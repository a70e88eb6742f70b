using FreshBooksConnect.Infra.Tests.Infrastructure;
using Xunit;

namespace FreshBooksConnect.Infra.Tests;

/// <summary>
/// infra/hooks/preprovision.sh run by sh, as azd runs it, against a stand-in <c>azd</c> on the PATH
/// that keeps the environment's values in a file.
/// </summary>
public sealed class PreprovisionHookTests : IDisposable
{
    private const string FakeAzd = """
        #!/bin/sh
        # Stand-in for azd: "env get-value NAME" and "env set NAME VALUE" on $FAKE_AZD_ENV (NAME=VALUE lines).
        [ "$1" = env ] || { echo "fake azd: unsupported: $*" >&2; exit 2; }
        case "$2" in
          get-value)
            line=$(grep "^$3=" "$FAKE_AZD_ENV" | tail -n 1) || { echo "ERROR: key '$3' not found in the environment values" >&2; exit 1; }
            printf '%s\n' "${line#*=}" ;;
          set)
            printf '%s=%s\n' "$3" "$4" >> "$FAKE_AZD_ENV" ;;
          *)
            echo "fake azd: unsupported: $*" >&2; exit 2 ;;
        esac
        """;

    private readonly string folder = Directory.CreateTempSubdirectory("preprovision-").FullName;

    private string EnvFile => Path.Combine(folder, "azd.env");

    public PreprovisionHookTests()
    {
        var azd = Path.Combine(folder, "azd");
        File.WriteAllText(azd, FakeAzd.ReplaceLineEndings("\n") + "\n");
        File.SetUnixFileMode(azd, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(EnvFile, "");
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public async Task Without_FreshBooks_credentials_it_fails_naming_both_and_stores_nothing()
    {
        var run = await RunHookAsync();

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("FRESHBOOKS_CLIENT_ID", run.StandardError, StringComparison.Ordinal);
        Assert.Contains("azd env set FRESHBOOKS_CLIENT_SECRET", run.StandardError, StringComparison.Ordinal);
        Assert.Empty(Values());
    }

    [Fact]
    public async Task Without_the_client_secret_it_fails_naming_only_the_secret()
    {
        Store("FRESHBOOKS_CLIENT_ID", "client-123");

        var run = await RunHookAsync();

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("FRESHBOOKS_CLIENT_SECRET", run.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("FRESHBOOKS_CLIENT_ID", run.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("TOKEN_ENCRYPTION_KEY", Values().Keys);
    }

    [Fact]
    public async Task With_credentials_it_stores_two_different_random_32_byte_keys()
    {
        StoreCredentials();

        var run = await RunHookAsync();

        Assert.True(run.ExitCode == 0, run.ToString());
        var values = Values();
        var tokenKey = Convert.FromBase64String(values["TOKEN_ENCRYPTION_KEY"]);
        var signingKey = Convert.FromBase64String(values["ONBOARDING_SIGNING_KEY"]);
        Assert.Equal(32, tokenKey.Length);
        Assert.Equal(32, signingKey.Length);
        Assert.NotEqual(tokenKey, signingKey);
    }

    [Fact]
    public async Task A_second_run_keeps_the_keys_of_the_first()
    {
        StoreCredentials();
        Assert.Equal(0, (await RunHookAsync()).ExitCode);
        var first = Values();

        var second = await RunHookAsync();

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal(first, Values());
        Assert.Contains("TOKEN_ENCRYPTION_KEY: already set, kept.", second.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_existing_key_is_kept_and_only_the_missing_one_is_made()
    {
        StoreCredentials();
        Store("TOKEN_ENCRYPTION_KEY", "existing-token-key");

        var run = await RunHookAsync();

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("existing-token-key", Values()["TOKEN_ENCRYPTION_KEY"]);
        Assert.Equal(32, Convert.FromBase64String(Values()["ONBOARDING_SIGNING_KEY"]).Length);
    }

    private void StoreCredentials()
    {
        Store("FRESHBOOKS_CLIENT_ID", "client-123");
        Store("FRESHBOOKS_CLIENT_SECRET", "secret-456");
    }

    private void Store(string name, string value) => File.AppendAllText(EnvFile, $"{name}={value}\n");

    /// <summary>The fake azd environment, last value wins.</summary>
    private Dictionary<string, string> Values() =>
        File.ReadAllLines(EnvFile)
            .Where(line => line.Contains('=', StringComparison.Ordinal))
            .Select(line => line.Split('=', 2))
            .Where(pair => !pair[0].StartsWith("FRESHBOOKS_", StringComparison.Ordinal))
            .GroupBy(pair => pair[0])
            .ToDictionary(group => group.Key, group => group.Last()[1]);

    private Task<ProcessResult> RunHookAsync() =>
        ProcessRunner.RunAsync(
            "sh",
            [Repo.PathTo("infra", "hooks", "preprovision.sh")],
            Repo.Root,
            new Dictionary<string, string?>
            {
                ["PATH"] = $"{folder}:{Environment.GetEnvironmentVariable("PATH")}",
                ["FAKE_AZD_ENV"] = EnvFile,
                // Only the (fake) azd environment counts, not the test runner's own variables.
                ["FRESHBOOKS_CLIENT_ID"] = null,
                ["FRESHBOOKS_CLIENT_SECRET"] = null,
                ["TOKEN_ENCRYPTION_KEY"] = null,
                ["ONBOARDING_SIGNING_KEY"] = null,
            },
            TimeSpan.FromMinutes(1));
}
