using System.Globalization;
using System.Net;
using System.Text.Json;
using FreshBooksConnect.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.LocalHost.Tests;

/// <summary>
/// A tunnel publishes the local host: it answers only loopback names and the redirect URI's host (a page rebinding its own
/// DNS name to 127.0.0.1 gets nothing), and it does not start with the sample's well-known keys while it is public.
/// </summary>
public sealed class PublicAddressTests
{
    private const string TunnelHost = "fbc-dev.example-tunnel.app";
    private const string TunnelRedirectUri = $"https://{TunnelHost}/api/callback";

    [Fact]
    public async Task Loopback_names_and_the_redirect_uris_host_are_served_and_any_other_Host_gets_400_and_runs_nothing()
    {
        var logs = new LogCollector();
        var options = SampleApp.Options(logs);
        options.Settings["FreshBooks:RedirectUri"] = TunnelRedirectUri;
        await using var host = await LocalFunctionsHost.StartAsync(options);
        var port = host.BaseUri.Port.ToString(CultureInfo.InvariantCulture);

        foreach (var served in new[] { $"localhost:{port}", $"127.0.0.1:{port}", $"[::1]:{port}", "localhost", TunnelHost, $"{TunnelHost}:443", TunnelHost.ToUpperInvariant() })
        {
            using var answer = await GetHelloAsync(host, served);
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"Host: {served} answered {(int)answer.StatusCode}");
        }

        var executedBefore = Executions(logs);
        foreach (var foreign in new[] { "evil.example", $"evil.example:{port}", $"127.0.0.1.nip.io:{port}", "example-tunnel.app", $"x.{TunnelHost}", "10.0.0.5" })
        {
            using var answer = await GetHelloAsync(host, foreign);
            Assert.True(answer.StatusCode == HttpStatusCode.BadRequest, $"Host: {foreign} answered {(int)answer.StatusCode}");
            Assert.Contains("Invalid Hostname", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            // Keys don't open it either: the master key on the admin endpoint.
            using var admin = new HttpRequestMessage(HttpMethod.Get, "admin/functions") { Headers = { Host = foreign } };
            admin.Headers.Add("x-functions-key", host.MasterKey);
            using var adminAnswer = await host.Client().SendAsync(admin);
            Assert.Equal(HttpStatusCode.BadRequest, adminAnswer.StatusCode);
        }

        Assert.Equal(executedBefore, Executions(logs));
    }

    [Fact]
    public async Task Without_a_public_redirect_uri_only_loopback_names_are_served()
    {
        var options = SampleApp.Options();
        options.Settings["FreshBooks:RedirectUri"] = "http://localhost:7071/api/callback";
        await using var host = await LocalFunctionsHost.StartAsync(options);

        using var loopback = await GetHelloAsync(host, "localhost:7071");
        using var tunnel = await GetHelloAsync(host, TunnelHost);

        Assert.Equal(HttpStatusCode.OK, loopback.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, tunnel.StatusCode);
    }

    [Theory]
    [InlineData("LocalHost:FunctionKey")]
    [InlineData("LocalHost:MasterKey")]
    public async Task A_sample_key_of_the_host_with_a_redirect_uri_off_loopback_stops_it_naming_the_setting_and_the_fix(string setting)
    {
        var options = SampleApp.Options();
        options.Settings["FreshBooks:RedirectUri"] = TunnelRedirectUri;
        options.Settings[setting] = SampleValue(setting.Replace(":", "__", StringComparison.Ordinal));

        var refused = await Assert.ThrowsAsync<LocalHostStartupException>(() => LocalFunctionsHost.StartAsync(options));

        var problem = Assert.Single(refused.Problems);
        Assert.StartsWith($"{setting} ({setting.Replace(":", "__", StringComparison.Ordinal)}) holds the well-known key of local.settings.sample.json", problem, StringComparison.Ordinal);
        Assert.Contains($"FreshBooks:RedirectUri (https://{TunnelHost})", problem, StringComparison.Ordinal);
        Assert.Contains("openssl rand -base64 32", problem, StringComparison.Ordinal);
        Assert.Contains("./run.sh", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_samples_keys_with_a_loopback_redirect_uri_start_and_work()
    {
        var options = SampleApp.Options();
        options.Settings["FreshBooks:RedirectUri"] = "http://localhost:7071/api/callback";
        options.Settings["LocalHost:FunctionKey"] = SampleValue("LocalHost__FunctionKey");
        options.Settings["LocalHost:MasterKey"] = SampleValue("LocalHost__MasterKey");

        await using var host = await LocalFunctionsHost.StartAsync(options);

        Assert.Equal(SampleValue("LocalHost__FunctionKey"), host.FunctionKey);
    }

    [Fact]
    public async Task The_real_app_with_the_sample_settings_and_a_redirect_uri_off_loopback_does_not_start_naming_each_sample_key()
    {
        var options = RealAppWithSampleSettings();
        options.Settings["FreshBooks:RedirectUri"] = TunnelRedirectUri;

        var refused = await Assert.ThrowsAsync<LocalHostStartupException>(() => LocalFunctionsHost.StartAsync(options));
        Assert.Equal(["LocalHost:FunctionKey", "LocalHost:MasterKey"], refused.Problems.Select(p => p.Split(' ')[0]));

        // With the host's own keys random, the app's keys are next.
        options.Settings["LocalHost:FunctionKey"] = null;
        options.Settings["LocalHost:MasterKey"] = null;
        var appRefused = await Assert.ThrowsAnyAsync<Exception>(() => LocalFunctionsHost.StartAsync(options));
        var failures = (appRefused as AggregateException)?.InnerExceptions.OfType<OptionsValidationException>().SelectMany(e => e.Failures)
            ?? Assert.IsType<OptionsValidationException>(appRefused).Failures;
        Assert.Equal(
            ["Onboarding__SigningKey", "TokenProtection__Keys__k1"],
            failures.Select(f => f.Split(' ')[0]).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_real_app_with_the_sample_settings_as_they_are_starts()
    {
        await using var host = await LocalFunctionsHost.StartAsync(RealAppWithSampleSettings());

        Assert.Equal(SampleValue("LocalHost__FunctionKey"), host.FunctionKey);
    }

    private static async Task<HttpResponseMessage> GetHelloAsync(LocalFunctionsHost host, string hostHeader)
    {
        using var client = host.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "sample/hello/World") { Headers = { Host = hostHeader } };
        return await client.SendAsync(request);
    }

    private static int Executions(LogCollector logs) => logs.Entries.Count(e => e.Message.StartsWith("Executing 'Functions.Hello'", StringComparison.Ordinal));

    /// <summary>The real app served with local.settings.sample.json's values (read from the repository) and its services; nothing scheduled or polled.</summary>
    private static LocalHostOptions RealAppWithSampleSettings()
    {
        var options = new LocalHostOptions
        {
            FunctionAppDirectory = SampleApp.RealAppDirectory,
            LoadLocalSettingsFile = false,
            RunTimers = false,
            RunQueues = false,
            ConfigureServices = (services, configuration) => services.AddFreshBooksConnect(configuration),
        };
        foreach (var (name, value) in SampleValues())
        {
            options.Settings[name.Replace("__", ":", StringComparison.Ordinal)] = value;
        }

        options.Settings["Logging:Console:LogLevel:Default"] = "Warning";
        return options;
    }

    private static string SampleValue(string name) => SampleValues()[name];

    private static Dictionary<string, string> SampleValues()
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "local.settings.sample.json")));
        return sample.RootElement.GetProperty("Values").EnumerateObject().ToDictionary(setting => setting.Name, setting => setting.Value.GetString()!);
    }
}
