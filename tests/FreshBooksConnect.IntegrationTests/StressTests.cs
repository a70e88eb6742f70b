using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FreshBooks.Emulator;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xunit.Abstractions;

namespace FreshBooksConnect.IntegrationTests;

[CollectionDefinition(Name)]
public sealed class StressCollection : ICollectionFixture<ConnectStack>
{
    public const string Name = "Renewal under stress";
}

/// <summary>Races and faults: refresh tokens are single use, so one careless race or one lost pair loses a customer.</summary>
[Collection(StressCollection.Name)]
public sealed class StressTests(ConnectStack stack, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Connections = 50;

    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Eight_concurrent_renewers_over_many_cycles_never_reuse_a_refresh_token()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var instances = new[] { stack.App, await stack.StartAppAsync(instanceOf: stack.App), await stack.StartAppAsync(instanceOf: stack.App) };
        var ids = await ConnectAllAsync("race");
        const int Cycles = 6;

        for (var cycle = 1; cycle <= Cycles; cycle++)
        {
            // Everyone is due for the sweep; now and then also within the token API's inline window.
            stack.Clock.Advance(TimeSpan.FromHours(11) + TimeSpan.FromMinutes(random.Next(0, 58)));
            var before = new Dictionary<string, string>();
            foreach (var id in ids)
            {
                before[id] = (await RenewalDriver.ConnectionAsync(stack.App, id)).AccessToken;
            }

            var order = ids.OrderBy(_ => random.Next()).ToArray();
            var renewers = new List<Task>
            {
                RenewalDriver.SweepAsync(instances[0]),
                RenewalDriver.SweepAsync(instances[1]),
                RenewalDriver.DrainQueueAsync(stack, instances[0]),
                RenewalDriver.DrainQueueAsync(stack, instances[1], instances[2]),
                RenewalDriver.DrainQueueAsync(stack, instances[2]),
                AskForTokensAsync(instances[0], order),
                AskForTokensAsync(instances[1], order.Reverse().ToArray()),
                ReportRejectedTokensAsync(instances[2], order, before),
            };
            await Task.WhenAll(renewers);
            await SettleAsync(instances[0]);

            foreach (var id in ids)
            {
                var connection = await RenewalDriver.ConnectionAsync(stack.App, id);
                Assert.True(connection.TokenGeneration == cycle + 1, $"seed {seed}, cycle {cycle}: {id} is at generation {connection.TokenGeneration}");
            }
        }

        Assert.True(!stack.Emulator.Misuses.Any(m => m.Kind == MisuseKind.ReusedRefreshToken), $"seed {seed}: a refresh token was spent twice");
        await AssertEveryConnectionWorksAsync(ids);
    }

    [Fact]
    public async Task Dropped_responses_errors_throttling_and_a_failed_save_lose_no_connection_FreshBooks_did_not_lose()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var failingStore = new FailsOnceWhenSavingARenewal();
        var storageFaults = new StorageFaults();
        var faulty = await stack.StartAppAsync(
            services: s =>
            {
                failingStore.Decorate(s);
                storageFaults.AddTo(s);
            },
            instanceOf: stack.App);
        var instances = new[] { stack.App, faulty };
        var ids = await ConnectAllAsync("fault");

        stack.Emulator.Faults.SetRandom(seed, serverErrorRate: 0.15, tooManyRequestsRate: 0.1, dropAfterRotationRate: 0.05, retryAfter: TimeSpan.FromMilliseconds(200));

        // The faulty instance's storage also refuses connections, times out and loses answers after the write landed.
        storageFaults.SetRandom(seed, refuseRate: 0.03, timeoutRate: 0.03, dropRate: 0.03);
        for (var cycle = 0; cycle < 4; cycle++)
        {
            stack.Clock.Advance(TimeSpan.FromHours(11.5));

            // Sweep until everything due was renewed or has failed for good; failed tries wait out their backoff.
            for (var round = 0; round < 40 && await AnyDueAsync(ids); round++)
            {
                await RenewalDriver.SweepAsync(instances[round % 2]);
                await RenewalDriver.DrainQueueAsync(stack, instances);
                stack.Clock.Advance(TimeSpan.FromMinutes(31));
            }

            Assert.False(await AnyDueAsync(ids), $"seed {seed}: renewals did not settle");
        }

        stack.Emulator.Faults.Clear();
        storageFaults.ClearRandom();
        Assert.True(failingStore.Failed, "the injected storage failure never happened");
        output.WriteLine($"storage: {storageFaults.RequestsFailed} requests refused or timed out, {storageFaults.AnswersDropped} answers dropped");
        Assert.True(storageFaults.RequestsFailed > 0 && storageFaults.AnswersDropped > 0, "the injected transport failures never happened");
        var drops = stack.Emulator.Calls.Count(c => c.Fault == TokenFaultKind.DropAfterRotation);
        var dead = new List<string>();
        foreach (var id in ids)
        {
            var connection = await RenewalDriver.ConnectionAsync(stack.App, id);
            if (connection.Status == ConnectionStatus.NeedsReconsent)
            {
                dead.Add(id);
                Assert.StartsWith("invalid_grant", connection.StatusReason);
                var view = await stack.App.GetJsonAsync($"api/connections/{id}");
                Assert.Equal("needs-reconsent", view.GetProperty("status").GetString());
            }
        }

        output.WriteLine($"{drops} dropped responses, {dead.Count} connections need a new consent");
        Assert.True(dead.Count <= drops, $"seed {seed}: {dead.Count} connections died but FreshBooks dropped only {drops} answers");

        // Every connection that says it is active really is: one more renewal of each succeeds.
        var alive = ids.Except(dead).ToList();
        await AssertEveryConnectionWorksAsync(alive);
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        await RenewalDriver.SweepAsync(stack.App);
        await RenewalDriver.DrainQueueAsync(stack, stack.App);
        await AssertEveryConnectionWorksAsync(alive);
    }

    private async Task<List<string>> ConnectAllAsync(string prefix)
    {
        var ids = new List<string>();
        for (var i = 0; i < Connections; i++)
        {
            var (status, _, id) = await stack.App.ConnectAsync($"{prefix}{i}");
            Assert.Equal(HttpStatusCode.OK, status);
            ids.Add(id);
        }

        return ids;
    }

    private static async Task AskForTokensAsync(AppInstance app, string[] ids)
    {
        foreach (var id in ids)
        {
            using var response = await app.Api.GetAsync($"api/connections/{id}/token");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    /// <summary>
    /// Reports each connection's token of the cycle's start as rejected, as a SaaS backend does after a 401: it refreshes
    /// only while that token is still the stored one, so with the sweep and the token API still one renewal a cycle.
    /// </summary>
    private static async Task ReportRejectedTokensAsync(AppInstance app, string[] ids, Dictionary<string, string> tokens)
    {
        foreach (var id in ids)
        {
            using var response = await app.Api.PostAsJsonAsync($"api/connections/{id}/refresh", new { accessToken = tokens[id] });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.NotEqual(tokens[id], answer.GetProperty("accessToken").GetString());
        }
    }

    /// <summary>Runs sweeps and the queue until nothing is due or queued.</summary>
    private async Task SettleAsync(AppInstance app)
    {
        for (var round = 0; round < 10; round++)
        {
            await RenewalDriver.SweepAsync(app);
            if (await RenewalDriver.DrainQueueAsync(stack, app) == 0)
            {
                return;
            }
        }
    }

    private async Task<bool> AnyDueAsync(IEnumerable<string> ids)
    {
        var now = stack.Clock.GetUtcNow();
        foreach (var id in ids)
        {
            var connection = await RenewalDriver.ConnectionAsync(stack.App, id);
            if (connection.Status == ConnectionStatus.Active && connection.NextRenewalAt <= now)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Each connection's token, from the token API, works on FreshBooks' sample API.</summary>
    private async Task AssertEveryConnectionWorksAsync(IEnumerable<string> ids)
    {
        using var freshBooks = new HttpClient { BaseAddress = stack.Emulator.BaseUri };
        foreach (var id in ids)
        {
            var answer = await stack.App.GetJsonAsync($"api/connections/{id}/token");
            Assert.Equal("active", (await stack.App.GetJsonAsync($"api/connections/{id}")).GetProperty("status").GetString());
            var account = answer.GetProperty("businesses")[0].GetProperty("accountId").GetString();
            using var request = new HttpRequestMessage(HttpMethod.Get, $"accounting/account/{account}/users/clients");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", answer.GetProperty("accessToken").GetString());
            using var response = await freshBooks.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{id}: the sample API answered {(int)response.StatusCode}");
            var clients = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(clients.GetProperty("response").GetProperty("result").GetProperty("total").GetInt32() > 0);
        }
    }

    /// <summary>A store whose first save of a renewed pair fails as storage does when it is unavailable.</summary>
    private sealed class FailsOnceWhenSavingARenewal
    {
        private int _failed;

        public bool Failed => _failed == 1;

        public void Decorate(IServiceCollection services)
        {
            var inner = services.Single(d => d.ServiceType == typeof(IConnectionStore));
            services.RemoveAll<IConnectionStore>();
            services.AddSingleton<IConnectionStore>(sp => new Store((IConnectionStore)ActivatorUtilities.CreateInstance(sp, inner.ImplementationType!), this));
        }

        private sealed class Store(IConnectionStore inner, FailsOnceWhenSavingARenewal fault) : IConnectionStore
        {
            public Task<Connection?> GetAsync(string connectionId, CancellationToken cancellationToken) => inner.GetAsync(connectionId, cancellationToken);

            public Task<ConnectionPage?> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken) => inner.ListAsync(pageSize, continuationToken, cancellationToken);

            public Task<ConnectionSummaryPage?> ListSummariesAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken) => inner.ListSummariesAsync(pageSize, continuationToken, cancellationToken);

            public Task<WriteResult> WriteAsync(ConnectionChange change, CancellationToken cancellationToken) =>
                change.Kind == ConnectionChangeKind.Renewed && Interlocked.CompareExchange(ref fault._failed, 1, 0) == 0
                    ? throw new StorageUnavailableException("Injected: the storage service is unavailable.") { Status = 503 }
                    : inner.WriteAsync(change, cancellationToken);
        }
    }
}
