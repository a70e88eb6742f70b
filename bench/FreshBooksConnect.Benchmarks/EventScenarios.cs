#if CONNECTION_EVENTS
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using FreshBooksConnect.Connections;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.LocalHost;
using FreshBooksConnect.Storage;
using FreshBooksConnect.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using static FreshBooksConnect.Benchmarks.Report;

namespace FreshBooksConnect.Benchmarks;

/// <summary>
/// Section 3b: what connection events cost. (a) Table requests on a renewal's own path, for a renewal that makes no event and one
/// that does (needs-reconsent). (b) State change to webhook delivery on loopback: DELETE a connection, time until a receiver has
/// its <c>connection.deleted</c>, with the receiver answering at once and after 200 ms. The delivery runs as in Azure: the
/// store's queue message, the DeliverEvents queue function polled by a second local host, the feed write, then the signed POST.
/// </summary>
internal static class EventScenarios
{
    private const string SigningSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    internal static async Task RunAsync(Stack stack, StringBuilder md, int runs, bool quick)
    {
        md.AppendLine("## 3b. Connection events").AppendLine();
        stack.Emulator.Faults.Latency = TimeSpan.Zero;
        await stack.ResetAsync();
        var events = new QueueClient(stack.Azurite.ConnectionString, StorageOptions.EventQueueName);
        await events.CreateIfNotExistsAsync();
        await events.ClearMessagesAsync();

        await RequestsPerRenewalAsync(stack, md, events, quick ? 30 : 100);
        await DeliveryLatencyAsync(stack, md, events, runs, quick ? 40 : 100);
    }

    /// <summary>Inline renewals through the token API on the main host (no queue polling there, so nothing else touches storage).</summary>
    private static async Task RequestsPerRenewalAsync(Stack stack, StringBuilder md, QueueClient events, int n)
    {
        md.AppendLine(Inv, $"### Table requests per renewal ({n} inline renewals each, through `GET /api/connections/{{id}}/token`)").AppendLine();
        md.AppendLine("A renewal that changes no status makes no event, so its path is what it was before events. One that does (here: FreshBooks answers `invalid_grant`, the connection needs a new consent) writes its outbox row in the same entity-group transaction as the connection row (`POST $batch`), after a reminder row in `events` (the sweep's safety net if the process stops before the queue message is sent), and sends one queue message. Each renewal also reads the row first (and a failed one reads it again in the store's re-read loop).").AppendLine();

        await stack.SeedAsync(n, n, "ev-plain", DueMeans.InlineWindow);
        var plain = await TokenCallsAsync(stack, events, "ev-plain", n, HttpStatusCode.OK);

        await stack.SeedAsync(n, n, "ev-lost", DueMeans.InlineWindow);
        var store = stack.Service<IConnectionStore>();
        var freshBooks = stack.Service<IFreshBooksClient>();
        for (var i = 0; i < n; i++)
        {
            // The customer disconnected the app at FreshBooks: the next refresh is refused with invalid_grant.
            var connection = await store.GetAsync($"ev-lost-{i:D6}", CancellationToken.None) ?? throw new InvalidOperationException("seeded connection missing");
            await freshBooks.RevokeAsync(connection.RefreshToken, CancellationToken.None);
        }

        var lost = await TokenCallsAsync(stack, events, "ev-lost", n, HttpStatusCode.Conflict);
        md.AppendLine("| renewal | table requests per renewal | by method and table | queue messages per renewal | errors |");
        md.AppendLine("|---|---:|---|---:|---:|");
        md.AppendLine(Inv, $"| renewed, no event | {(double)plain.Counts.Requests / n:F2} | {plain.Counts.Describe(n)} | {plain.Messages / (double)n:F2} | {plain.Errors} |");
        md.AppendLine(Inv, $"| needs-reconsent, `connection.needs_reconsent` event | {(double)lost.Counts.Requests / n:F2} | {lost.Counts.Describe(n)} | {lost.Messages / (double)n:F2} | {lost.Errors} |").AppendLine();
        await events.ClearMessagesAsync();
    }

    private static async Task<(Counts Counts, long Messages, int Errors)> TokenCallsAsync(Stack stack, QueueClient events, string prefix, int n, HttpStatusCode expected)
    {
        var before = (await events.GetPropertiesAsync()).Value.ApproximateMessagesCount;
        stack.Counter.Reset();
        var errors = 0;
        for (var i = 0; i < n; i++)
        {
            using var response = await stack.Api.GetAsync($"api/connections/{prefix}-{i:D6}/token");
            errors += response.StatusCode == expected ? 0 : 1;
        }

        var counts = stack.Counter.Snapshot();
        var after = (await events.GetPropertiesAsync()).Value.ApproximateMessagesCount;
        return (counts, after - before, errors);
    }

    private static async Task DeliveryLatencyAsync(Stack stack, StringBuilder md, QueueClient events, int runs, int perRun)
    {
        md.AppendLine(Inv, $"### State change to webhook delivery ({perRun} deletes per run, one every 50 ms, {runs} runs)").AppendLine();
        md.AppendLine("A second local host polls the `events` queue as the Functions queue extension does (idle back-off to `maxPollingInterval`, 2 s, as host.json sets for Azure) and delivers to a Kestrel receiver on loopback; its renewal worker is off. Timed from the `DELETE /api/connections/{id}` answer (the `connection.deleted` event is stored by then) to the receiver reading the POST. Each connection's `connection.created` event is delivered before the timed part starts.").AppendLine();
        await using var receiver = await Receiver.StartAsync();
        await using var host = await StartDeliveringHostAsync(stack, receiver.Url);
        using var api = new HttpClient { BaseAddress = host.BaseUri };
        api.DefaultRequestHeaders.Add("x-functions-key", host.FunctionKey);

        md.AppendLine("| receiver answers after | p50 | p99 | max | DELETE p50 | deliveries per event | not delivered in 60 s |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var delay in new[] { 0, 200 })
        {
            var p50 = new List<double>(); var p99 = new List<double>(); var max = new List<double>(); var deleteP50 = new List<double>();
            long deliveries = 0, deleted = 0, missing = 0;
            for (var run = 0; run < runs; run++)
            {
                var prefix = $"ev-d{delay}-{run}";
                receiver.Delay = TimeSpan.Zero;
                await stack.SeedAsync(perRun, 0, prefix);
                var ids = Enumerable.Range(0, perRun).Select(i => $"{prefix}-{i:D6}").ToList();
                await receiver.WaitForAsync(ids, "connection.created", TimeSpan.FromSeconds(120));
                receiver.Reset();
                receiver.Delay = TimeSpan.FromMilliseconds(delay);

                var answered = new ConcurrentDictionary<string, long>();
                var deleteMs = new ConcurrentBag<double>();
                var pending = new List<Task>();
                var pace = Stopwatch.StartNew();
                for (var i = 0; i < ids.Count; i++)
                {
                    var id = ids[i];
                    pending.Add(Task.Run(async () =>
                    {
                        var sent = Stopwatch.GetTimestamp();
                        using var response = await api.DeleteAsync($"api/connections/{id}");
                        answered[id] = Stopwatch.GetTimestamp();
                        deleteMs.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                        if (response.StatusCode != HttpStatusCode.NoContent)
                        {
                            throw new InvalidOperationException($"DELETE {id}: {(int)response.StatusCode}");
                        }
                    }));
                    var next = TimeSpan.FromMilliseconds(50 * (i + 1)) - pace.Elapsed;
                    if (next > TimeSpan.Zero)
                    {
                        await Task.Delay(next);
                    }
                }

                await Task.WhenAll(pending);
                var complete = await receiver.WaitForAsync(ids, "connection.deleted", TimeSpan.FromSeconds(60));
                var latencies = ids
                    .Where(id => receiver.FirstArrival(id, "connection.deleted") is not null)
                    .Select(id => Math.Max(0, Stopwatch.GetElapsedTime(answered[id], receiver.FirstArrival(id, "connection.deleted")!.Value).TotalMilliseconds))
                    .ToArray();
                missing += ids.Count - latencies.Length;
                deliveries += receiver.Count("connection.deleted");
                deleted += latencies.Length;
                p50.Add(Stats.Percentile(latencies, 0.5));
                p99.Add(Stats.Percentile(latencies, 0.99));
                max.Add(latencies.Max());
                deleteP50.Add(Stats.Percentile([.. deleteMs], 0.5));
                Console.WriteLine($"  events receiver {delay} ms run {run + 1}: p50 {p50[^1]:F0} ms, p99 {p99[^1]:F0} ms{(complete ? "" : ", some not delivered")}");
            }

            md.AppendLine(Inv, $"| {delay} ms | {Ms2(p50)} | {Ms2(p99)} | {Ms2(max)} | {Ms2(deleteP50)} | {(double)deliveries / Math.Max(1, deleted):F2} | {missing} |");
        }

        md.AppendLine();
    }

    /// <summary>A second app instance on the same storage, emulator and clock that only delivers events.</summary>
    private static async Task<LocalFunctionsHost> StartDeliveringHostAsync(Stack stack, Uri webhook)
    {
        var port = Stack.FreePort();
        var options = new LocalHostOptions
        {
            Urls = $"http://127.0.0.1:{port}",
            LoadLocalSettingsFile = false,
            RunTimers = false,
            RunQueues = true,
            ConfigureServices = (s, configuration) =>
            {
                s.AddFreshBooksConnect(configuration);
                s.RemoveAll<TimeProvider>();
                s.AddSingleton<TimeProvider>(stack.Clock);
                s.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
            },
        };
        foreach (var (key, value) in stack.Settings(port))
        {
            options.Settings[key] = value;
        }

        options.Settings["Events:WebhookUrl"] = webhook.AbsoluteUri;
        options.Settings["Events:SigningSecret"] = SigningSecret;
        options.Settings["AzureWebJobs.RenewConnection.Disabled"] = "true";
        return await LocalFunctionsHost.StartAsync(options);
    }

    /// <summary>A webhook receiver on loopback that notes when each event first arrived, answering 204 after <see cref="Delay"/>.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private ConcurrentDictionary<(string ConnectionId, string Type), long> _firstArrival = new();
        private ConcurrentDictionary<string, long> _counts = new();

        private Receiver(WebApplication app)
        {
            _app = app;
        }

        public Uri Url { get; private set; } = null!;

        public TimeSpan Delay { get; set; }

        public static async Task<Receiver> StartAsync()
        {
            var app = LoopbackApp.Create();
            var receiver = new Receiver(app);
            app.MapPost("/webhook", receiver.ReceiveAsync);
            receiver.Url = new Uri(await LoopbackApp.StartAsync(app), "webhook");
            return receiver;
        }

        public void Reset()
        {
            _firstArrival = new();
            _counts = new();
        }

        public long? FirstArrival(string connectionId, string type) => _firstArrival.TryGetValue((connectionId, type), out var at) ? at : null;

        public long Count(string type) => _counts.GetValueOrDefault(type);

        public async Task<bool> WaitForAsync(IReadOnlyList<string> connectionIds, string type, TimeSpan timeout)
        {
            var waited = Stopwatch.StartNew();
            while (connectionIds.Any(id => !_firstArrival.ContainsKey((id, type))))
            {
                if (waited.Elapsed > timeout)
                {
                    return false;
                }

                await Task.Delay(20);
            }

            return true;
        }

        private async Task<IResult> ReceiveAsync(HttpRequest request)
        {
            var arrived = Stopwatch.GetTimestamp();
            using var body = await JsonDocument.ParseAsync(request.Body);
            var type = body.RootElement.GetProperty("type").GetString()!;
            var connectionId = body.RootElement.GetProperty("data").GetProperty("connectionId").GetString()!;
            _firstArrival.TryAdd((connectionId, type), arrived);
            _counts.AddOrUpdate(type, 1, (_, n) => n + 1);
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay);
            }

            return Results.NoContent();
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
#endif
