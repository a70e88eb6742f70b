using System.Diagnostics;
using System.Net;

namespace FreshBooks.Emulator.Tests;

public sealed class FaultTests(EmulatorFixture fixture) : EmulatorTest(fixture)
{
    [Fact]
    public async Task Server_error_fault_answers_503_with_an_html_body_and_spends_nothing()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueToken(TokenFault.ServerError);

        using var faulted = await Client.RefreshAsync(pair.RefreshToken);
        using var retried = await Client.RefreshAsync(pair.RefreshToken);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, faulted.StatusCode);
        Assert.Equal("text/html", faulted.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Empty(Emulator.Misuses);
        var call = Emulator.Calls.First(c => c.Fault is not null);
        Assert.Equal((TokenFaultKind.ServerError, 503, "refresh_token"), (call.Fault!.Value, call.StatusCode, call.GrantType));
    }

    [Fact]
    public async Task Too_many_requests_fault_answers_429_with_retry_after_and_spends_nothing()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueToken(TokenFault.TooManyRequests(TimeSpan.FromSeconds(2.5)));

        using var faulted = await Client.RefreshAsync(pair.RefreshToken);
        using var retried = await Client.RefreshAsync(pair.RefreshToken);

        Assert.Equal(HttpStatusCode.TooManyRequests, faulted.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), faulted.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Empty(Emulator.Misuses);
    }

    [Fact]
    public async Task Delay_fault_waits_then_answers_normally()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueToken(TokenFault.Delay(TimeSpan.FromMilliseconds(400)));

        var clock = Stopwatch.StartNew();
        using var response = await Client.RefreshAsync(pair.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(380), $"answered after {clock.Elapsed}");
    }

    [Fact]
    public async Task Drop_after_rotation_spends_the_old_refresh_token_and_loses_the_answer()
    {
        var pair = await Client.ConnectAsync();
        var liveBefore = Emulator.LiveGrantCount;
        Emulator.Faults.EnqueueToken(TokenFault.DropAfterRotation);

        using (var fresh = new HttpClient { BaseAddress = Emulator.BaseUri })
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => Client.RefreshAsync(pair.RefreshToken, client: fresh));
        }

        using var retry = await Client.RefreshAsync(pair.RefreshToken);

        Assert.Equal(HttpStatusCode.BadRequest, retry.StatusCode);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(retry));
        Assert.Equal([MisuseKind.ReusedRefreshToken], MisuseKinds);
        Assert.Equal(liveBefore, Emulator.LiveGrantCount); // rotated, not revoked: the new pair exists, only the client never saw it
        Assert.False(Emulator.IsAccessTokenValid(pair.AccessToken));
        var dropped = Emulator.Calls.Single(c => c.Fault == TokenFaultKind.DropAfterRotation);
        Assert.Equal(0, dropped.StatusCode);
    }

    [Fact]
    public async Task Timeout_fault_holds_the_call_until_the_client_gives_up_and_spends_nothing()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueToken(TokenFault.Timeout);

        using (var impatient = new HttpClient { BaseAddress = Emulator.BaseUri, Timeout = TimeSpan.FromMilliseconds(300) })
        {
            await Assert.ThrowsAnyAsync<TaskCanceledException>(() => Client.RefreshAsync(pair.RefreshToken, client: impatient));
        }

        using var retry = await Client.RefreshAsync(pair.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Empty(Emulator.Misuses);
    }

    [Fact]
    public async Task Queued_faults_hit_the_next_token_calls_in_order()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueToken(TokenFault.ServerError);
        Emulator.Faults.EnqueueToken(TokenFault.TooManyRequests(TimeSpan.FromSeconds(1)));
        Assert.Equal(2, Emulator.Faults.PendingCount);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await Client.RefreshAsync(pair.RefreshToken);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.ServiceUnavailable, HttpStatusCode.TooManyRequests, HttpStatusCode.OK], statuses);
        Assert.Equal(0, Emulator.Faults.PendingCount);
    }

    [Fact]
    public async Task Clear_drops_queued_and_random_faults()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueToken(TokenFault.ServerError);
        Emulator.Faults.SetRandom(1, serverErrorRate: 1, tooManyRequestsRate: 0, dropAfterRotationRate: 0);

        Emulator.Faults.Clear();
        using var response = await Client.RefreshAsync(pair.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Random_faults_are_reproducible_for_a_seed()
    {
        const int Seed = 20260302;

        async Task<List<int>> RunAsync()
        {
            Emulator.Faults.SetRandom(Seed, serverErrorRate: 0.25, tooManyRequestsRate: 0.25, dropAfterRotationRate: 0);
            var statuses = new List<int>();
            for (var i = 0; i < 24; i++)
            {
                using var response = await Client.RefreshAsync(new string('e', 64));
                statuses.Add((int)response.StatusCode);
            }

            return statuses;
        }

        var first = await RunAsync();
        var second = await RunAsync();

        Assert.True(first.SequenceEqual(second), $"seed {Seed}: {string.Join(',', first)} vs {string.Join(',', second)}");
        Assert.Contains(503, first);
        Assert.Contains(429, first);
        Assert.Contains(400, first);
    }

    [Fact]
    public async Task Random_drop_after_rotation_happens_at_its_rate_and_never_loses_a_grant()
    {
        const int Seed = 7;
        var pair = await Client.ConnectAsync();
        var live = Emulator.LiveGrantCount;
        Emulator.Faults.SetRandom(Seed, serverErrorRate: 0, tooManyRequestsRate: 0, dropAfterRotationRate: 0.5);

        var drops = 0;
        for (var i = 0; i < 16; i++)
        {
            using var fresh = new HttpClient { BaseAddress = Emulator.BaseUri };
            try
            {
                using var response = await Client.RefreshAsync(pair.RefreshToken, client: fresh);
                pair = await TestClient.PairAsync(response);
            }
            catch (HttpRequestException)
            {
                drops++;
                break; // the answer is lost: this client can't refresh any more
            }
        }

        Assert.True(drops == 1, $"seed {Seed}: expected the drop to happen within 16 calls");
        Assert.Equal(live, Emulator.LiveGrantCount);
    }

    [Fact]
    public async Task Latency_is_added_to_every_token_call_in_real_time()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.Latency = TimeSpan.FromMilliseconds(250);
        var emulatorTimeBefore = Emulator.Clock.GetUtcNow();

        var clock = Stopwatch.StartNew();
        using var response = await Client.RefreshAsync(pair.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(240), $"answered after {clock.Elapsed}");
        Assert.Equal(emulatorTimeBefore, Emulator.Clock.GetUtcNow()); // the fake clock did not move
        Emulator.Faults.Clear();
        Assert.Equal(TimeSpan.FromMilliseconds(250), Emulator.Faults.Latency);
    }
}
