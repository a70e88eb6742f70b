using System.Net;
using System.Text.Json;
using FreshBooksConnect.LocalHost;
using FreshBooksConnect.Testing;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// Issue 17, item 5: a tunnel publishes the app. Behind a redirect URI that is not loopback the sample's well-known keys stop
/// it, and whatever the redirect URI, only loopback names and the redirect URI's host reach it (DNS rebinding).
/// </summary>
[Collection(StackCollection.Name)]
public sealed class TunnelSafetyTests(ConnectStack stack) : IAsyncLifetime
{
    private const string TunnelHost = "fbc-dev.example-tunnel.app";
    private const string TunnelRedirectUri = $"https://{TunnelHost}/api/callback";

    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Behind_a_tunnel_the_samples_keys_stop_the_app_naming_each_and_on_loopback_they_work()
    {
        var sample = SampleValues();
        void SampleKeys(Dictionary<string, string?> settings)
        {
            settings["TokenProtection:Keys:k1"] = sample["TokenProtection__Keys__k1"];
            settings["Onboarding:SigningKey"] = sample["Onboarding__SigningKey"];
        }

        var appRefused = await Assert.ThrowsAnyAsync<Exception>(() => stack.StartAppAsync(s =>
        {
            SampleKeys(s);
            s["FreshBooks:RedirectUri"] = TunnelRedirectUri;
        }));
        var failures = (appRefused as AggregateException)?.InnerExceptions.OfType<OptionsValidationException>().SelectMany(e => e.Failures)
            ?? Assert.IsType<OptionsValidationException>(appRefused).Failures;
        Assert.Equal(["Onboarding__SigningKey", "TokenProtection__Keys__k1"], failures.Select(f => f.Split(' ')[0]).Distinct().Order(StringComparer.Ordinal));

        var hostRefused = await Assert.ThrowsAsync<LocalHostStartupException>(() => stack.StartAppAsync(s =>
        {
            s["LocalHost:FunctionKey"] = sample["LocalHost__FunctionKey"];
            s["FreshBooks:RedirectUri"] = TunnelRedirectUri;
        }));
        Assert.StartsWith("LocalHost:FunctionKey (LocalHost__FunctionKey) holds the well-known key", Assert.Single(hostRefused.Problems), StringComparison.Ordinal);

        // On loopback they are fine: the sample as it is works on this machine.
        var local = await stack.StartAppAsync(s =>
        {
            SampleKeys(s);
            s["LocalHost:FunctionKey"] = sample["LocalHost__FunctionKey"];
        });
        var (url, _) = await local.CreateLinkAsync("acme");
        Assert.Contains("/api/connect?link=", url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_foreign_Host_is_refused_with_400_before_anything_runs_and_loopback_names_and_the_redirect_uris_host_are_served()
    {
        var app = await stack.StartAppAsync(s => s["FreshBooks:RedirectUri"] = TunnelRedirectUri);
        var port = app.Host.BaseUri.Port;
        var before = await Probe.SnapshotAsync(stack);

        // What a page rebound to 127.0.0.1 would send: its own name, with the function key it might have learned.
        foreach (var foreign in new[] { "rebind.attacker.example", $"rebind.attacker.example:{port}", $"127.0.0.1.nip.io:{port}" })
        {
            using var link = await SendAsync(app, HttpMethod.Post, "api/onboarding-links", foreign, """{"tenantId":"acme"}""");
            using var token = await SendAsync(app, HttpMethod.Get, "api/connections/t-acme/token", foreign);
            using var start = await SendAsync(app, HttpMethod.Get, "api/connect", foreign);
            foreach (var answer in new[] { link, token, start })
            {
                Assert.True(answer.StatusCode == HttpStatusCode.BadRequest, $"Host {foreign}: {answer.RequestMessage!.RequestUri!.AbsolutePath} answered {(int)answer.StatusCode}");
                Assert.Contains("Invalid Hostname", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }

        Assert.Equal(before.ToString(), (await Probe.SnapshotAsync(stack)).ToString());

        foreach (var served in new[] { $"localhost:{port}", $"127.0.0.1:{port}", $"[::1]:{port}", TunnelHost })
        {
            using var link = await SendAsync(app, HttpMethod.Post, "api/onboarding-links", served, """{"tenantId":"acme"}""");
            Assert.True(link.StatusCode == HttpStatusCode.OK, $"Host {served}: {(int)link.StatusCode} {await link.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(AppInstance app, HttpMethod method, string path, string host, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path) { Headers = { Host = host } };
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        return await app.Api.SendAsync(request);
    }

    private static Dictionary<string, string> SampleValues()
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "local.settings.sample.json")));
        return sample.RootElement.GetProperty("Values").EnumerateObject().ToDictionary(setting => setting.Name, setting => setting.Value.GetString()!);
    }
}
