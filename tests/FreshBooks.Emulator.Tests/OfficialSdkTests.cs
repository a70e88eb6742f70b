using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FreshBooks.Emulator.Tests;

/// <summary>
/// Holds the emulator to a client FreshBooks wrote: runs <c>tests/freshbooks-sdk/sdk-flow.mjs</c> (the official
/// Node SDK, <c>@freshbooks/api</c> from the repository's package.json) against an emulator started here, on a free
/// port. Needs <c>node</c> on PATH and <c>npm ci</c> done at the repository root (./test.sh does both); without
/// them it fails, saying so, rather than skipping.
/// </summary>
public sealed partial class OfficialSdkTests
{
    private const string RedirectUri = "https://sdk.example.com/freshbooks/callback";

    [Fact]
    public async Task Official_FreshBooks_Node_SDK_runs_its_whole_flow_against_the_emulator()
    {
        var root = RepositoryRoot();
        var script = Path.Combine(root, "tests", "freshbooks-sdk", "sdk-flow.mjs");
        Assert.True(File.Exists(script), $"{script} is missing.");
        Assert.True(File.Exists(Path.Combine(root, "node_modules", "@freshbooks", "api", "package.json")),
            $"The official FreshBooks SDK is not installed: run `npm ci` in {root} (./test.sh does).");
        var user = EmulatedUser.MultiBusiness;
        await using var emulator = await FreshBooksEmulator.StartAsync(new EmulatorOptions
        {
            ClientId = "sdk-flow-client",
            ClientSecret = "sdk-flow-secret",
            RedirectUris = [RedirectUri],
            Users = [user, EmulatedUser.Default],
            Scopes = BooksFixture.AllScopes,
        });
        var baseUrl = emulator.BaseUri.AbsoluteUri.TrimEnd('/');

        var run = await RunNodeAsync(root, script, new Dictionary<string, string>
        {
            ["FRESHBOOKS_API_URL"] = baseUrl,
            ["FRESHBOOKS_AUTH_URL"] = baseUrl,
            ["FRESHBOOKS_CLIENT_ID"] = "sdk-flow-client",
            ["FRESHBOOKS_CLIENT_SECRET"] = "sdk-flow-secret",
            ["FRESHBOOKS_REDIRECT_URI"] = RedirectUri,
            ["EMULATOR_EXPECTED_USER"] = JsonSerializer.Serialize(new
            {
                id = user.Id,
                firstName = user.FirstName,
                lastName = user.LastName,
                email = user.Email,
                businesses = user.Businesses.Select(b => new { membershipId = b.MembershipId, businessId = b.BusinessId, name = b.Name, accountId = b.AccountId, role = b.Role }),
            }),
        });

        Assert.True(run.ExitCode == 0, $"sdk-flow.mjs exited with {run.ExitCode} after {run.Elapsed.TotalSeconds:F1} s:\n{run.Output}");
        Assert.Matches(@"sdk-flow: all \d+ checks passed with @freshbooks/api 4\.1\.0", run.Output);
        Assert.DoesNotMatch(AnyToken(), run.Output);
        // What the script asserted through the admin endpoint, checked again from this side.
        Assert.Equal([MisuseKind.ReusedRefreshToken], emulator.Misuses.Select(m => m.Kind));
        Assert.Contains(emulator.Calls, c => c.Endpoint == EndpointKind.UsersMe && c.StatusCode == 200);
        Assert.Contains(emulator.Calls, c => c.Endpoint == EndpointKind.Clients && c.Method == "POST" && c.StatusCode == 200);
        Assert.Equal(["authorization_code", "refresh_token", "refresh_token"],
            emulator.Calls.Where(c => c.Endpoint == EndpointKind.Token).Select(c => c.GrantType));
    }

    private static async Task<(int ExitCode, string Output, TimeSpan Elapsed)> RunNodeAsync(string root, string script, IDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        // The emulator is on loopback: an HTTP proxy from the environment (axios honours them) must not get in between.
        foreach (var proxy in new[] { "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy" })
        {
            start.Environment.Remove(proxy);
        }

        var clock = Stopwatch.StartNew();
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"`node` is not on PATH ({e.Message}): install Node 20 or later to run the official FreshBooks SDK test.");
            throw;
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                Assert.Fail($"sdk-flow.mjs did not finish within 2 minutes:\n{await stdout}\n{await stderr}");
            }

            return (process.ExitCode, (await stdout) + (await stderr), clock.Elapsed);
        }
    }

    /// <summary>The directory holding FreshBooksFunctions.sln and package.json, above the test's bin folder.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FreshBooksFunctions.sln")) && File.Exists(Path.Combine(dir.FullName, "package.json")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No repository root (FreshBooksFunctions.sln + package.json) above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex("[0-9a-f]{64}")]
    private static partial Regex AnyToken();
}
