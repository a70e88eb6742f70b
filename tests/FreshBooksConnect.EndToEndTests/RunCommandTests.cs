using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FreshBooksConnect.EndToEndTests.Infrastructure;

namespace FreshBooksConnect.EndToEndTests;

/// <summary>The README's <c>./run.sh</c> as a developer uses it: start, open the link, Ctrl-C, start again.</summary>
public sealed partial class RunCommandTests
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(40);

    /// <summary>The queue trigger polls every 2 s at most; the event sweep (every minute) is the fallback.</summary>
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(75);

    /// <summary>The sample's keys: the app and the local host refuse them once the redirect URI is not loopback.</summary>
    private static readonly string[] SampleKeySettings = ["LocalHost__FunctionKey", "LocalHost__MasterKey", "Onboarding__SigningKey", "TokenProtection__Keys__k1"];

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

            // The link opens the page naming the tenant; its button starts the consent: 302 to the emulator's consent page, with
            // the redirect moved to APP_PORT.
            using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });
            using var response = await LinkPage.ContinueAsync(http, link, run.Describe);
            Assert.True(response.StatusCode == HttpStatusCode.Found, $"POST the link's page: {(int)response.StatusCode}{run.Describe()}");
            var location = response.Headers.Location!.AbsoluteUri;
            Assert.StartsWith($"{run.EmulatorUrl}/oauth/authorize/?", location, StringComparison.Ordinal);
            Assert.Contains($"client_id={RunCommand.ClientId}&", location, StringComparison.Ordinal);
            Assert.Contains($"redirect_uri={Uri.EscapeDataString($"{run.AppUrl}/api/callback")}&", location, StringComparison.Ordinal);

            // The function key reaches the app through its environment: no process shows it among its arguments.
            Assert.All(run.Leftovers(), process => Assert.DoesNotContain(RunCommand.FunctionKey, process.CommandLine, StringComparison.Ordinal));

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

    [Fact]
    public async Task With_EVENTS_RECEIVER_an_onboarding_reaches_the_local_receiver_as_a_verified_event_and_Ctrl_C_stops_it_too()
    {
        var ports = RunPorts.Free();
        var receiverPort = FreePortOtherThan(ports);
        var receiverUrl = $"http://127.0.0.1:{receiverPort.ToString(CultureInfo.InvariantCulture)}";

        await using var run = RunCommand.Start("events-receiver", ports, new Dictionary<string, string>
        {
            ["EVENTS_RECEIVER"] = "yes",
            ["EVENTS_RECEIVER_PORT"] = receiverPort.ToString(CultureInfo.InvariantCulture),
            // None configured (whatever this checkout's local.settings.json holds): run.sh makes one for the run.
            ["Events__SigningSecret"] = "",
        });
        var link = await run.WaitForLinkAsync(BrowserStack.StartTimeout);
        var receiverLog = Path.Combine(run.LogDirectory, "receiver.log");

        // The banner says where events go and where they are printed.
        Assert.Contains($"starting the event receiver on {receiverUrl} (signing secret: a new one made for this run)", run.Output, StringComparison.Ordinal);
        Assert.Contains($"to the event receiver ({receiverUrl}/events)", run.Output, StringComparison.Ordinal);
        // (The runs' logs are inside the checkout, which run.sh names relative to it.)
        Assert.Contains($"prints one line per event to {Path.GetRelativePath(Repository.Root, receiverLog)}, also shown below", run.Output, StringComparison.Ordinal);

        // An onboarding as a customer makes one: the link and its page, the consent (the emulator's approve endpoint), the callback.
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });
        using var start = await LinkPage.ContinueAsync(http, link, run.Describe);
        Assert.True(start.StatusCode == HttpStatusCode.Found, $"POST the link's page: {(int)start.StatusCode}{run.Describe()}");
        using var approve = await http.PostAsync($"{run.EmulatorUrl}/_emulator/approve?url={Uri.EscapeDataString(start.Headers.Location!.AbsoluteUri)}", null);
        Assert.True(approve.IsSuccessStatusCode, $"approve: {(int)approve.StatusCode} {await approve.Content.ReadAsStringAsync()}");
        var callbackUrl = (await approve.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("redirect").GetString()!;
        using var callback = await http.GetAsync(callbackUrl);
        var page = await callback.Content.ReadAsStringAsync();
        Assert.True(callback.StatusCode == HttpStatusCode.OK && page.Contains("FreshBooks is connected", StringComparison.Ordinal), $"callback: {(int)callback.StatusCode}{run.Describe()}");

        // The receiver verified its signature with the run's secret and printed it, in its log and on run.sh's console.
        var line = await WaitForLineAsync(receiverLog, line => line.Contains(" connection.created t-demo ", StringComparison.Ordinal), EventTimeout, run);
        Assert.Matches(VerifiedEventLine(), line);
        Assert.DoesNotContain("signature did not verify", File.ReadAllText(receiverLog), StringComparison.Ordinal);
        await WaitUntilAsync(() => run.Output.Contains(line, StringComparison.Ordinal), TimeSpan.FromSeconds(10), $"the console did not show the receiver's line{run.Describe()}");

        // The secret the app and the receiver share is in their environment only: not printed, not logged, no argument.
        var running = run.Leftovers();
        var receiver = Assert.Single(running, process => process.CommandLine.Contains("EventReceiver.dll", StringComparison.Ordinal));
        var secret = EnvironmentVariable(receiver.Id, "Events__SigningSecret");
        Assert.Matches("^whsec_[A-Za-z0-9+/]{43}=$", secret);
        Assert.DoesNotContain(secret, run.Output, StringComparison.Ordinal);
        Assert.All(Directory.EnumerateFiles(run.LogDirectory, "*.log"), log => Assert.DoesNotContain(secret, File.ReadAllText(log), StringComparison.Ordinal));
        Assert.All(running, process => Assert.DoesNotContain(secret, process.CommandLine, StringComparison.Ordinal));

        run.Interrupt();
        await AssertStoppedCleanlyAsync(run, expectedExitCode: 130);
        Assert.True(CanListen(receiverPort), $"the event receiver's port {receiverPort} is still taken after run.sh stopped.");
    }

    [Fact]
    public async Task Run_refuses_a_configured_event_receiver_port_in_use_and_starts_nothing()
    {
        var ports = RunPorts.Free();
        var receiverPort = FreePortOtherThan(ports);
        using var occupant = new TcpListener(IPAddress.Loopback, receiverPort);
        occupant.Start();

        await using var run = RunCommand.Start("receiver-port-in-use", ports, new Dictionary<string, string>
        {
            ["EVENTS_RECEIVER"] = "yes",
            ["EVENTS_RECEIVER_PORT"] = receiverPort.ToString(CultureInfo.InvariantCulture),
        });
        var exitCode = await run.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exitCode == 1, $"run.sh: exit code {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "none (still running)"}{run.Describe()}");
        Assert.Contains($"port {receiverPort} (EVENTS_RECEIVER_PORT) is already in use", run.Output, StringComparison.Ordinal);
        Assert.Empty(run.Leftovers());
    }

    [Fact]
    public async Task On_a_checkout_without_local_settings_json_run_writes_one_with_new_random_keys_and_keeps_an_existing_one()
    {
        var sample = Values(File.ReadAllText(Path.Combine(Repository.Root, "local.settings.sample.json")));
        var first = Directory.CreateTempSubdirectory("fbc-checkout-");
        var second = Directory.CreateTempSubdirectory("fbc-checkout-");
        try
        {
            var (firstText, firstOutput) = await CreateSettingsAsync("new-settings", first.FullName);
            var (secondText, _) = await CreateSettingsAsync("new-settings-again", second.FullName);
            var written = Values(firstText);
            var writtenAgain = Values(secondText);

            // The sample's settings, with the keys the app refuses behind a tunnel made new, in the form each needs.
            Assert.Equal(sample.Keys.Order(StringComparer.Ordinal), written.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(SampleKeySettings, sample.Keys.Where(name => written[name] != sample[name]).Order(StringComparer.Ordinal));
            Assert.Matches("^[A-Za-z0-9+/]{43}=$", written["TokenProtection__Keys__k1"]);
            Assert.Matches("^[A-Za-z0-9+/]{43}=$", written["Onboarding__SigningKey"]);
            Assert.Matches("^[A-Za-z0-9_-]{43}$", written["LocalHost__FunctionKey"]);
            Assert.Matches("^[A-Za-z0-9_-]{43}$", written["LocalHost__MasterKey"]);
            Assert.All(SampleKeySettings, name => Assert.NotEqual(written[name], writtenAgain[name]));

            // Readable by the developer alone, and no key printed.
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(first.FullName, "local.settings.json")));
            Assert.Contains("created local.settings.json from local.settings.sample.json with new random keys", firstOutput, StringComparison.Ordinal);
            Assert.All(SampleKeySettings, name => Assert.DoesNotContain(written[name], firstOutput, StringComparison.Ordinal));

            // A second run on the first checkout keeps the file as it is.
            var (kept, keptOutput) = await CreateSettingsAsync("kept-settings", first.FullName);
            Assert.Equal(firstText, kept);
            Assert.DoesNotContain("created local.settings.json", keptOutput, StringComparison.Ordinal);
        }
        finally
        {
            first.Delete(recursive: true);
            second.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Run_with_the_samples_keys_behind_a_tunnel_redirect_uri_stops_naming_each_key_and_the_fix()
    {
        var sample = Values(File.ReadAllText(Path.Combine(Repository.Root, "local.settings.sample.json")));

        await using var run = RunCommand.Start("sample-keys-behind-a-tunnel", RunPorts.Free(), new Dictionary<string, string>
        {
            ["FreshBooks__RedirectUri"] = "https://fbc-dev.example-tunnel.app/api/callback",
            ["TokenProtection__CurrentKeyId"] = "k1",
            ["TokenProtection__Keys__k1"] = sample["TokenProtection__Keys__k1"],
            ["Onboarding__SigningKey"] = sample["Onboarding__SigningKey"],
            // The local host's own keys are checked first: not the sample's here, whatever this checkout's settings hold.
            ["LocalHost__MasterKey"] = Guid.NewGuid().ToString("N"),
        });
        var exitCode = await run.WaitForExitAsync(BrowserStack.StartTimeout);

        Assert.True(exitCode == 1, $"run.sh: exit code {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "none (still running)"}{run.Describe()}");
        Assert.Contains("the app exited while starting", run.Output, StringComparison.Ordinal);
        foreach (var setting in new[] { "TokenProtection__Keys__k1", "Onboarding__SigningKey" })
        {
            Assert.Contains($"{setting} holds the well-known key of local.settings.sample.json", run.Output, StringComparison.Ordinal);
        }

        Assert.Contains("run ./run.sh, which writes one with random keys", run.Output, StringComparison.Ordinal);
        Assert.Empty(run.Leftovers());
    }

    /// <summary>
    /// Runs ./run.sh in <paramref name="checkout"/>, a copy of run.sh and local.settings.sample.json alone, with its app port
    /// taken: it writes local.settings.json if there is none, then stops at the port check. The file's text and the output.
    /// </summary>
    private static async Task<(string Settings, string Output)> CreateSettingsAsync(string name, string checkout)
    {
        foreach (var file in new[] { "run.sh", "local.settings.sample.json" })
        {
            File.Copy(Path.Combine(Repository.Root, file), Path.Combine(checkout, file), overwrite: true);
        }

        File.SetUnixFileMode(Path.Combine(checkout, "run.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var ports = RunPorts.Free();
        using var occupant = new TcpListener(IPAddress.Loopback, ports.App);
        occupant.Start();

        await using var run = RunCommand.Start(name, ports, checkout: checkout);
        var exitCode = await run.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exitCode == 1, $"run.sh: exit code {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "none (still running)"}{run.Describe()}");
        Assert.Contains($"port {ports.App} (APP_PORT) is already in use", run.Output, StringComparison.Ordinal);
        var settings = Path.Combine(checkout, "local.settings.json");
        Assert.True(File.Exists(settings), $"run.sh wrote no {settings}.{run.Describe()}");
        return (File.ReadAllText(settings), run.Output);
    }

    private static Dictionary<string, string> Values(string settingsJson)
    {
        using var settings = JsonDocument.Parse(settingsJson);
        return settings.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(setting => setting.Name, setting => setting.Value.GetString()!, StringComparer.Ordinal);
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

    /// <summary>Waits for a line of a log file that <paramref name="match"/> accepts; fails with the run's output and that log.</summary>
    private static async Task<string> WaitForLineAsync(string path, Func<string, bool> match, TimeSpan timeout, RunCommand run)
    {
        string? found = null;
        await WaitUntilAsync(
            () => (found = File.Exists(path) ? File.ReadLines(path).FirstOrDefault(match) : null) is not null,
            timeout,
            $"no such line in {path} within {timeout.TotalSeconds:0}s:{Environment.NewLine}{run.LogTail("receiver")}{run.Describe()}");
        return found!;
    }

    private static async Task WaitUntilAsync(Func<bool> done, TimeSpan timeout, string failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(200);
        }
    }

    /// <summary>A variable of a running process's environment (/proc/{pid}/environ), or "" when it has none.</summary>
    private static string EnvironmentVariable(int pid, string name)
    {
        var prefix = name + "=";
        return Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/environ"))
            .Split('\0')
            .FirstOrDefault(entry => entry.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..] ?? "";
    }

    /// <summary>A free loopback port that is none of the run's other five.</summary>
    private static int FreePortOtherThan(RunPorts ports)
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (!ports.All.Contains(port))
            {
                return port;
            }
        }
    }

    private static bool CanListen(int port)
    {
        using var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>The receiver's line for a verified event: time, type, connection, webhook-id (the event's id), "verified".</summary>
    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ connection\.created t-demo webhook-id evt_[0-9a-f]{32} verified$")]
    private static partial Regex VerifiedEventLine();
}
