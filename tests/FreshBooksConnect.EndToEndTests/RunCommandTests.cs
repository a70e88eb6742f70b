using System.Net;
using System.Net.Sockets;
using FreshBooksConnect.EndToEndTests.Infrastructure;

namespace FreshBooksConnect.EndToEndTests;

/// <summary>The README's <c>./run.sh</c> as a developer uses it: start, open the link, Ctrl-C, start again.</summary>
public sealed class RunCommandTests
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task Run_prints_a_working_link_and_Ctrl_C_stops_everything_it_started_so_a_second_run_works()
    {
        var ports = RunPorts.Free();

        await using (var run = RunCommand.Start("run-command", ports))
        {
            var link = await run.WaitForLinkAsync(BrowserStack.StartTimeout);

            // What the developer is told: the link, the consent page, the proxied call and the token call, the logs.
            Assert.Contains($"({run.EmulatorUrl}/oauth/authorize/)", run.Output, StringComparison.Ordinal);
            Assert.Contains($"curl -H \"x-functions-key: {RunCommand.FunctionKey}\" {run.AppUrl}/api/connections/t-demo/token", run.Output, StringComparison.Ordinal);
            Assert.Contains($"curl -H \"x-functions-key: {RunCommand.FunctionKey}\" {run.AppUrl}/api/connections/t-demo/freshbooks/accounting/account/AEL001/users/clients", run.Output, StringComparison.Ordinal);
            Assert.Contains("app.log", run.Output, StringComparison.Ordinal);
            foreach (var service in new[] { "app", "emulator", "azurite" })
            {
                Assert.True(File.Exists(Path.Combine(run.LogDirectory, service + ".log")), $"{service}.log is missing in {run.LogDirectory}");
            }

            // The link starts the consent: 302 to the emulator's consent page, with the redirect moved to APP_PORT.
            using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
            using var response = await http.GetAsync(link);
            Assert.True(response.StatusCode == HttpStatusCode.Found, $"GET {link}: {(int)response.StatusCode}{run.Describe()}");
            var location = response.Headers.Location!.AbsoluteUri;
            Assert.StartsWith($"{run.EmulatorUrl}/oauth/authorize/?", location, StringComparison.Ordinal);
            Assert.Contains($"client_id={RunCommand.ClientId}&", location, StringComparison.Ordinal);
            Assert.Contains($"redirect_uri={Uri.EscapeDataString($"{run.AppUrl}/api/callback")}&", location, StringComparison.Ordinal);

            run.Interrupt();
            await AssertStoppedCleanlyAsync(run, expectedExitCode: 130);
        }

        // Same ports again: everything was released.
        await using (var again = RunCommand.Start("run-command-again", ports))
        {
            await again.WaitForLinkAsync(BrowserStack.StartTimeout);

            again.Terminate();
            await AssertStoppedCleanlyAsync(again, expectedExitCode: 143);
        }
    }

    [Fact]
    public async Task Run_refuses_a_port_in_use_naming_the_variable_to_change_and_starts_nothing()
    {
        var ports = RunPorts.Free();
        using var occupant = new TcpListener(IPAddress.Loopback, ports.Emulator);
        occupant.Start();

        await using var run = RunCommand.Start("port-in-use", ports);
        var exitCode = await run.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exitCode == 1, $"run.sh: exit code {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none (still running)"}{run.Describe()}");
        Assert.Contains($"port {ports.Emulator} (EMULATOR_PORT) is already in use", run.Output, StringComparison.Ordinal);
        Assert.Contains("EMULATOR_PORT=<port> ./run.sh", run.Output, StringComparison.Ordinal);
        Assert.Empty(run.Leftovers());
    }

    private static async Task AssertStoppedCleanlyAsync(RunCommand run, int expectedExitCode)
    {
        var exitCode = await run.WaitForExitAsync(StopTimeout);
        Assert.True(
            exitCode is not null,
            $"run.sh was still running {StopTimeout.TotalSeconds:0}s after the signal. Its processes:{Environment.NewLine}" +
            $"{string.Join(Environment.NewLine, run.Leftovers())}{run.Describe()}");
        Assert.True(exitCode == expectedExitCode, $"run.sh exited with {exitCode}, expected {expectedExitCode}.{run.Describe()}");
        Assert.Contains("== stopped", run.Output, StringComparison.Ordinal);

        var leftovers = run.Leftovers();
        Assert.True(leftovers.Count == 0, $"run.sh left processes behind:{Environment.NewLine}{string.Join(Environment.NewLine, leftovers)}");
        var busy = run.Ports.InUse();
        Assert.True(busy.Count == 0, $"still listening after run.sh stopped: {string.Join(", ", busy)}");
    }
}
