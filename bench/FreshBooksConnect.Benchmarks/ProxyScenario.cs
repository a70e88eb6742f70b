using System.Net.Http.Headers;
using System.Text;
using FreshBooks.Emulator;
using FreshBooksConnect.Connections;
using Microsoft.Extensions.DependencyInjection;
using static FreshBooksConnect.Benchmarks.Report;

namespace FreshBooksConnect.Benchmarks;

/// <summary>
/// Section 6 (issue 19): <c>GET /api/connections/{id}/freshbooks/accounting/account/{accountId}/users/clients</c> through the
/// app against the same call made straight to the emulator with the connection's token, side by side, at a FreshBooks-like 50 ms
/// and at 0 ms; at 0 ms, where the proxy's time goes.
/// </summary>
internal static class ProxyScenario
{
    private const int Connections = 32;
    private const int Concurrency = 16;

    internal static async Task RunAsync(Stack stack, StringBuilder md, int runs, bool quick)
    {
        var duration = TimeSpan.FromSeconds(quick ? 2 : 4);
        await stack.ResetAsync();
        await stack.SeedAsync(Connections, Connections, idPrefix: "proxy");
        var ids = Enumerable.Range(0, Connections).Select(i => $"proxy-{i:D6}").ToArray();
        var store = stack.Service<IConnectionStore>();
        var tokens = new string[Connections];
        for (var i = 0; i < Connections; i++)
        {
            tokens[i] = (await store.GetAsync(ids[i], default))!.AccessToken;
        }

        var account = EmulatedUser.Default.Businesses[0].AccountId;
        var path = $"accounting/account/{account}/users/clients";

        // The product as deployed: an instance with the default token cache.
        await using var host = await stack.StartHostAsync(new Dictionary<string, string?>());
        using var app = HttpLoad.Client(host.BaseUri, host.FunctionKey);
        using var emulator = HttpLoad.Client(stack.Emulator.BaseUri);
        HttpRequestMessage Direct(Random r)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[r.Next(Connections)]);
            return request;
        }

        HttpRequestMessage Proxied(Random r) => new(HttpMethod.Get, $"api/connections/{ids[r.Next(Connections)]}/freshbooks/{path}");

        var results = new Dictionary<(int Latency, bool Proxy), RunSet>();
        foreach (var latency in new[] { 50, 0 })
        {
            stack.Emulator.Faults.ApiLatency = TimeSpan.FromMilliseconds(latency);
            var direct = results[(latency, false)] = new RunSet();
            var proxied = results[(latency, true)] = new RunSet();
            for (var run = 0; run < runs; run++)
            {
                direct.Add(await HttpLoad.RunAsync(emulator, Concurrency, duration, Direct));
                proxied.Add(await HttpLoad.RunAsync(app, Concurrency, duration, Proxied));
                Console.WriteLine($"  proxy {latency} ms C={Concurrency} run {run + 1}: direct {direct.Rps[^1]:F0} req/s p50 {direct.P50[^1]:F1} ms, proxy {proxied.Rps[^1]:F0} req/s p50 {proxied.P50[^1]:F1} ms");
            }
        }

        // Where the proxy's time goes, one call at a time at 0 ms: the host's invocation of any function (health), the token
        // from the cache (the token API), FreshBooks' own answer (direct), and the proxy.
        stack.Emulator.Faults.ApiLatency = TimeSpan.Zero;
        var single = new Dictionary<string, RunSet> { ["health"] = new(), ["token"] = new(), ["direct"] = new(), ["proxy"] = new() };
        for (var run = 0; run < runs; run++)
        {
            single["health"].Add(await HttpLoad.RunAsync(app, 1, duration, _ => new HttpRequestMessage(HttpMethod.Get, "api/health")));
            single["token"].Add(await HttpLoad.RunAsync(app, 1, duration, r => new HttpRequestMessage(HttpMethod.Get, $"api/connections/{ids[r.Next(Connections)]}/token")));
            single["direct"].Add(await HttpLoad.RunAsync(emulator, 1, duration, Direct));
            single["proxy"].Add(await HttpLoad.RunAsync(app, 1, duration, Proxied));
        }

        md.AppendLine("## 6. FreshBooks proxy: `/api/connections/{id}/freshbooks/{path}` against calling FreshBooks directly (issue 19)").AppendLine();
        md.AppendLine(Inv, $"{Connections} connections with real emulator grants; C = {Concurrency} loops call `GET /{path}` for a random one, either straight at the emulator with that connection's bearer token (what a SaaS holding tokens does) or through an app instance with the default settings (token cache on, 30 s), which adds the token and forwards with YARP. The emulator answers after the stated latency (`ApiLatency`, real time). {runs} runs of {duration.TotalSeconds:F0} s each, direct and proxy alternating, after 1 s untimed; medians.").AppendLine();
        md.AppendLine("| FreshBooks latency | path | requests/s | p50 | p99 | errors |");
        md.AppendLine("|---:|---|---:|---:|---:|---:|");
        foreach (var latency in new[] { 50, 0 })
        {
            foreach (var proxy in new[] { false, true })
            {
                var r = results[(latency, proxy)];
                md.AppendLine(Inv, $"| {latency} ms | {(proxy ? "through the proxy" : "direct")} | {Num(r.Rps)} | {r.MedianP50:F1} ms | {r.MedianP99:F1} ms | {r.Errors} |");
            }
        }

        var (d50, p50) = (results[(50, false)], results[(50, true)]);
        var (d0, p0) = (results[(0, false)], results[(0, true)]);
        md.AppendLine();
        md.AppendLine("| ratio | value | target |");
        md.AppendLine("|---|---:|---|");
        md.AppendLine(Inv, $"| 50 ms: proxy p50 ÷ direct p50 | {p50.MedianP50 / d50.MedianP50:F3} | ≤ 1.1 |");
        md.AppendLine(Inv, $"| 50 ms: proxy requests/s ÷ direct requests/s | {p50.MedianRps / d50.MedianRps:F3} | ≥ 0.90 |");
        md.AppendLine(Inv, $"| 0 ms: proxy p50 − direct p50 (C = {Concurrency}) | {p0.MedianP50 - d0.MedianP50:F2} ms | reported |");
        md.AppendLine();
        md.AppendLine("One call at a time at 0 ms (p50 over the runs), where the proxy's time goes:").AppendLine();
        md.AppendLine("| call | p50 | what it is |");
        md.AppendLine("|---|---:|---|");
        md.AppendLine(Inv, $"| `GET /api/health` | {single["health"].MedianP50:F2} ms | a loopback request to the app and the host invoking a function: the floor of any route |");
        md.AppendLine(Inv, $"| token API, cached | {single["token"].MedianP50:F2} ms | the same plus the cache lookup and the JSON answer |");
        md.AppendLine(Inv, $"| direct to the emulator | {single["direct"].MedianP50:F2} ms | FreshBooks' own answer (the emulator: token check, JSON) |");
        md.AppendLine(Inv, $"| through the proxy | {single["proxy"].MedianP50:F2} ms | all of the above: invocation, cached token, the path check, YARP's second request |");
        var overhead = single["proxy"].MedianP50 - single["direct"].MedianP50;
        md.AppendLine();
        md.AppendLine(Inv, $"Overhead at 0 ms, one call at a time: {overhead:F2} ms, of which the host's invocation (health) is {single["health"].MedianP50:F2} ms; the remaining {overhead - single["health"].MedianP50:F2} ms is the proxy's own work (the token from the cache, the path check, building the outgoing request, YARP copying headers and streaming the body) and the second loopback connection's send and receive. At C = {Concurrency} the difference is larger because app, emulator and client share 2 cores: the proxy's CPU is taken from the emulator's. At 50 ms FreshBooks latency it disappears in the wait.").AppendLine();
        stack.Emulator.Faults.ApiLatency = TimeSpan.Zero;
    }
}
