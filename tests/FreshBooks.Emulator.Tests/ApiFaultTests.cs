using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace FreshBooks.Emulator.Tests;

/// <summary>API faults (<see cref="ApiFault"/>) and <see cref="EmulatorFaults.ApiLatency"/>, apart from the token endpoint's faults.</summary>
public sealed class ApiFaultTests(EmulatorFixture fixture) : EmulatorTest(fixture)
{
    private static readonly string AccountId = EmulatedUser.Default.Businesses[0].AccountId;

    [Fact]
    public async Task Too_many_requests_answers_429_with_retry_after_and_the_next_call_is_served()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueApi(ApiFault.TooManyRequests(TimeSpan.FromSeconds(2.5)));

        using var limited = await Client.ClientsAsync(pair.AccessToken, AccountId);
        using var next = await Client.ClientsAsync(pair.AccessToken, AccountId);

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), limited.Headers.RetryAfter?.Delta);
        Assert.Equal("too_many_requests", await TestClient.ErrorAsync(limited));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Empty(Emulator.Misuses);
        var faulted = Emulator.Calls.Single(c => c.ApiFault is not null);
        Assert.Equal((EndpointKind.Clients, ApiFaultKind.TooManyRequests, 429, (TokenFaultKind?)null), (faulted.Endpoint, faulted.ApiFault!.Value, faulted.StatusCode, faulted.Fault));
    }

    [Fact]
    public async Task Server_error_answers_503_with_an_html_body()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueApi(ApiFault.ServerError);

        using var failed = await Client.MeAsync(pair.AccessToken);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.Equal("text/html", failed.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, Emulator.Faults.PendingApiCount);
    }

    [Fact]
    public async Task Unauthorized_answers_401_to_a_valid_token_which_stays_valid()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueApi(ApiFault.Unauthorized);

        using var refused = await Client.ClientsAsync(pair.AccessToken, AccountId);
        using var next = await Client.ClientsAsync(pair.AccessToken, AccountId);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("unauthenticated", await TestClient.ErrorAsync(refused));
        Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
        Assert.True(Emulator.IsAccessTokenValid(pair.AccessToken));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Empty(Emulator.Misuses); // a fault, not something the client did wrong
    }

    [Fact]
    public async Task Token_calls_never_take_api_faults_and_api_calls_never_take_token_faults()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueApi(ApiFault.ServerError);
        Emulator.Faults.EnqueueToken(TokenFault.TooManyRequests(TimeSpan.FromSeconds(1)));

        using var me = await Client.MeAsync(pair.AccessToken);
        using var refresh = await Client.RefreshAsync(pair.RefreshToken);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, me.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, refresh.StatusCode);
    }

    [Fact]
    public async Task Fault_meant_for_users_me_waits_for_users_me_while_other_calls_pass_it_by()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueApi(ApiFault.Delay(TimeSpan.FromMilliseconds(400)).On(EndpointKind.UsersMe));
        Emulator.Faults.EnqueueApi(ApiFault.ServerError);

        using var clients = await Client.ClientsAsync(pair.AccessToken, AccountId);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, clients.StatusCode); // took the untargeted fault behind it
        Assert.Equal(1, Emulator.Faults.PendingApiCount);
        var clock = Stopwatch.StartNew();
        using var me = await Client.MeAsync(pair.AccessToken);

        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(380), $"answered after {clock.Elapsed}");
        Assert.Equal(0, Emulator.Faults.PendingApiCount);
        Assert.Equal(ApiFaultKind.Delay, Emulator.Calls.Single(c => c.Endpoint == EndpointKind.UsersMe).ApiFault);
    }

    [Fact]
    public async Task Slow_users_me_can_be_abandoned_by_the_client_and_is_recorded_as_dropped()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueApi(ApiFault.Delay(TimeSpan.FromSeconds(30)).On(EndpointKind.UsersMe));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client.ApiAsync(HttpMethod.Get, "auth/api/v1/users/me", pair.AccessToken, cancellationToken: cancel.Token));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"gave up after {clock.Elapsed}");
        var dropped = await EventuallyAsync(() => Emulator.Calls.SingleOrDefault(c => c.Endpoint == EndpointKind.UsersMe));
        Assert.Equal((0, ApiFaultKind.Delay), (dropped.StatusCode, dropped.ApiFault!.Value));
        Assert.True(Emulator.IsAccessTokenValid(pair.AccessToken));
        Assert.Empty(Emulator.Misuses);
    }

    [Fact]
    public async Task Timeout_holds_the_call_until_the_client_gives_up()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueApi(ApiFault.Timeout);

        using (var impatient = new HttpClient { BaseAddress = Emulator.BaseUri, Timeout = TimeSpan.FromMilliseconds(300) })
        {
            await Assert.ThrowsAnyAsync<TaskCanceledException>(() => Client.ApiAsync(HttpMethod.Get, $"accounting/account/{AccountId}/users/clients", pair.AccessToken, client: impatient));
        }

        using var next = await Client.ClientsAsync(pair.AccessToken, AccountId);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task Api_latency_delays_api_calls_in_real_time_but_not_token_calls()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.ApiLatency = TimeSpan.FromMilliseconds(1500);
        var emulatorTimeBefore = Emulator.Clock.GetUtcNow();

        var clock = Stopwatch.StartNew();
        using var me = await Client.MeAsync(pair.AccessToken);
        var apiTook = clock.Elapsed;
        clock.Restart();
        using var refresh = await Client.RefreshAsync(pair.RefreshToken);
        var tokenTook = clock.Elapsed;

        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
        Assert.True(apiTook >= TimeSpan.FromMilliseconds(1480), $"users/me answered after {apiTook}");
        Assert.True(tokenTook < TimeSpan.FromMilliseconds(1000), $"the refresh took {tokenTook}");
        Assert.Equal(emulatorTimeBefore, Emulator.Clock.GetUtcNow());
        Emulator.Faults.Clear();
        Assert.Equal(TimeSpan.FromMilliseconds(1500), Emulator.Faults.ApiLatency);
    }

    [Fact]
    public void Clear_drops_queued_api_faults()
    {
        Emulator.Faults.EnqueueApi(ApiFault.ServerError);
        Emulator.Faults.EnqueueApi(ApiFault.Unauthorized.On(EndpointKind.Invoices));

        Emulator.Faults.Clear();

        Assert.Equal(0, Emulator.Faults.PendingApiCount);
    }

    [Fact]
    public async Task Admin_endpoint_queues_api_faults_and_sets_api_latency()
    {
        var pair = await Client.ConnectAsync();

        using var set = await Http.PostAsync("_emulator/faults", JsonContent.Create(new
        {
            api_latency_ms = 5,
            api_enqueue = new object[]
            {
                new { kind = "Unauthorized", endpoint = "UsersMe" },
                new { kind = "TooManyRequests", seconds = 4 },
            },
        }));
        using var bad = await Http.PostAsync("_emulator/faults", JsonContent.Create(new { api_enqueue = new object[] { new { kind = "Delay", endpoint = "Nowhere" } } }));
        using var negative = await Http.PostAsync("_emulator/faults", JsonContent.Create(new { api_latency_ms = -1 }));

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var status = await set.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((2, 5.0), (status.GetProperty("pending_api_faults").GetInt32(), status.GetProperty("api_latency_ms").GetDouble()));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        Assert.Equal(TimeSpan.FromMilliseconds(5), Emulator.Faults.ApiLatency);
        using var clients = await Client.ClientsAsync(pair.AccessToken, AccountId);
        using var me = await Client.MeAsync(pair.AccessToken);
        Assert.Equal((HttpStatusCode.TooManyRequests, "4"), (clients.StatusCode, clients.Headers.GetValues("Retry-After").Single()));
        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
        var calls = await Http.GetFromJsonAsync<JsonElement>("_emulator/calls");
        Assert.Contains(calls.EnumerateArray(), c => c.GetProperty("api_fault").GetString() == "Unauthorized" && c.GetProperty("endpoint").GetString() == "UsersMe");
    }

    private static async Task<T> EventuallyAsync<T>(Func<T?> probe)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "timed out waiting for the emulator to record the call");
            await Task.Delay(20);
        }
    }
}
