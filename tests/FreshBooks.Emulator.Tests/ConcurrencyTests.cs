using System.Collections.Concurrent;
using System.Net;

namespace FreshBooks.Emulator.Tests;

/// <summary>Races, each on an emulator of its own (live-grant counts and misuses are exact).</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Concurrent_refreshes_of_one_token_have_exactly_one_winner()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        await using var harness = await EmulatorHarness.StartAsync();
        var client = harness.Client;
        var expectedLosers = 0;

        for (var iteration = 0; iteration < 40; iteration++)
        {
            var pair = await client.ConnectAsync();
            var contenders = random.Next(2, 9);
            expectedLosers += contenders - 1;
            using var start = new SemaphoreSlim(0);
            var attempts = Enumerable.Range(0, contenders).Select(async _ =>
            {
                await start.WaitAsync();
                using var response = await client.RefreshAsync(pair.RefreshToken);
                return response.StatusCode;
            }).ToList();
            start.Release(contenders);
            var statuses = await Task.WhenAll(attempts);

            Assert.True(statuses.Count(s => s == HttpStatusCode.OK) == 1, $"seed {seed}, iteration {iteration}: {string.Join(',', statuses)}");
            Assert.True(statuses.Count(s => s == HttpStatusCode.BadRequest) == contenders - 1, $"seed {seed}, iteration {iteration}: {string.Join(',', statuses)}");
        }

        var misuses = harness.Emulator.Misuses;
        Assert.True(misuses.All(m => m.Kind == MisuseKind.ReusedRefreshToken), $"seed {seed}");
        Assert.True(misuses.Count == expectedLosers, $"seed {seed}: {misuses.Count} misuses, {expectedLosers} losers");
        Assert.Equal(40, harness.Emulator.LiveGrantCount);
    }

    [Fact]
    public async Task Eight_uncoordinated_clients_on_fifty_grants_lose_races_but_never_a_grant()
    {
        var seed = Environment.TickCount;
        await using var harness = await EmulatorHarness.StartAsync();
        var client = harness.Client;
        var current = new TokenPair[50];
        for (var i = 0; i < current.Length; i++)
        {
            current[i] = await client.ConnectAsync();
        }

        var issuedAccessTokens = new ConcurrentBag<string>(current.Select(p => p.AccessToken));
        var wins = 0;
        var losses = 0;
        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            var random = new Random(seed + worker);
            for (var n = 0; n < 30; n++)
            {
                var index = random.Next(current.Length);
                var seen = Volatile.Read(ref current[index]);
                using var response = await client.RefreshAsync(seen.RefreshToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var next = await TestClient.PairAsync(response);
                    issuedAccessTokens.Add(next.AccessToken);
                    Assert.Same(seen, Interlocked.CompareExchange(ref current[index], next, seen));
                    Interlocked.Increment(ref wins);
                }
                else
                {
                    Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                    Interlocked.Increment(ref losses);
                }
            }
        })).ToList();
        await Task.WhenAll(workers);

        var emulator = harness.Emulator;
        Assert.True(wins + losses == 240, $"seed {seed}");
        Assert.True(emulator.Misuses.Count == losses, $"seed {seed}: {emulator.Misuses.Count} misuses, {losses} lost races");
        Assert.True(emulator.Misuses.All(m => m.Kind == MisuseKind.ReusedRefreshToken), $"seed {seed}");
        Assert.Equal(50, emulator.LiveGrantCount);
        var latest = current.Select(p => p.AccessToken).ToHashSet();
        Assert.True(issuedAccessTokens.All(t => emulator.IsAccessTokenValid(t) == latest.Contains(t)), $"seed {seed}: only each grant's latest access token lives");
        foreach (var pair in current)
        {
            await client.RefreshPairAsync(pair.RefreshToken); // every chain is intact
        }
    }
}
