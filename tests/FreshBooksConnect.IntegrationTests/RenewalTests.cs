using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FreshBooks.Emulator;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>Renewal by the timer and the queue, its failure states, and the token API (issue: renewal that never loses a connection).</summary>
[Collection(StackCollection.Name)]
public sealed class RenewalTests(ConnectStack stack) : IAsyncLifetime
{
    private AppInstance App => stack.App;

    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Due_connections_are_renewed_by_the_sweep_and_others_are_not_touched()
    {
        var (_, _, early) = await App.ConnectAsync("early");
        stack.Clock.Advance(TimeSpan.FromHours(2));
        var (_, _, late) = await App.ConnectAsync("late");
        var lateBefore = await RenewalDriver.ConnectionAsync(App, late);
        stack.Clock.Advance(TimeSpan.FromHours(9));
        stack.Emulator.ResetLog();
        var sweptAt = stack.Clock.GetUtcNow();

        var handled = await RenewalDriver.SweepAndRenewAsync(stack, App);

        Assert.Equal(1, handled);
        var renewed = await RenewalDriver.ConnectionAsync(App, early);
        Assert.Equal(2, renewed.TokenGeneration);
        Assert.Equal(ConnectionStatus.Active, renewed.Status);
        Assert.InRange(renewed.LastRenewedAt!.Value, sweptAt, stack.Clock.GetUtcNow());
        Assert.True(stack.Emulator.IsAccessTokenValid(renewed.AccessToken));
        Assert.Null(renewed.LeaseOwner);
        Assert.InRange(renewed.NextRenewalAt!.Value, renewed.AccessTokenExpiresAt.AddMinutes(-70), renewed.AccessTokenExpiresAt.AddMinutes(-60));
        Assert.Equal(lateBefore.Version, (await RenewalDriver.ConnectionAsync(App, late)).Version);
        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token && c.GrantType == "refresh_token");

        // One index entry per connection, at its next renewal.
        var index = await stack.RowsAsync(StorageOptions.RenewalIndexTableName);
        Assert.Equal(2, index.Count);
        Assert.Contains(index, e => e.GetString("ConnectionId") == early && e.GetDateTimeOffset("RenewAt") == renewed.NextRenewalAt);
    }

    [Fact]
    public async Task The_queue_trigger_renews_what_the_timer_enqueued()
    {
        var worker = await stack.StartAppAsync(runQueues: true, instanceOf: App);
        var (_, _, id) = await App.ConnectAsync("queued");
        stack.Clock.Advance(TimeSpan.FromHours(11.5));

        await RenewalDriver.SweepAsync(App);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await RenewalDriver.ConnectionAsync(App, id)).TokenGeneration < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the queue trigger did not renew the connection");
            await Task.Delay(100);
        }

        await worker.DisposeAsync();
    }

    [Fact]
    public async Task The_sweep_reads_only_the_due_rows_of_the_index()
    {
        var store = App.Services.GetRequiredService<IConnectionStore>();
        var now = stack.Clock.GetUtcNow();
        for (var i = 0; i < 990; i++)
        {
            // A new connection's write puts its entry in the index too.
            var connection = SeededConnection($"t-idle{i}", now, now.AddHours(11.5).AddMinutes(i % 60));
            await store.WriteAsync(new ConnectionChange(ConnectionChangeKind.Consented, null, connection), default);
        }

        for (var i = 0; i < 10; i++)
        {
            await App.ConnectAsync($"due{i}");
        }

        stack.Clock.Advance(TimeSpan.FromHours(11));
        var counter = new TableReadCounter();
        var counted = await stack.StartAppAsync(services: counter.AddTo, instanceOf: App);

        var result = await counted.Services.GetRequiredService<RenewalSweep>().SweepAsync(default);

        Assert.Equal(new SweepResult(10, 10, 0, 0), result with { ExpiredConsentsPurged = 0 });
        Assert.Equal(10, counter.RowsRead(StorageOptions.RenewalIndexTableName));
        Assert.Equal(0, counter.RowsRead(StorageOptions.ConnectionsTableName));
        Assert.Equal(10, await RenewalDriver.DrainQueueAsync(stack, App));
    }

    [Fact]
    public async Task Invalid_grant_marks_the_connection_needs_reconsent_and_stops_refreshing_it()
    {
        var (_, _, id) = await App.ConnectAsync("revoked");
        var connection = await RenewalDriver.ConnectionAsync(App, id);
        await RevokeAtFreshBooksAsync(connection.RefreshToken);
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        stack.Emulator.ResetLog();
        var sweptAt = stack.Clock.GetUtcNow();

        await RenewalDriver.SweepAndRenewAsync(stack, App);

        var dead = await RenewalDriver.ConnectionAsync(App, id);
        Assert.Equal(ConnectionStatus.NeedsReconsent, dead.Status);
        Assert.StartsWith("invalid_grant", dead.StatusReason);
        Assert.InRange(dead.StatusChangedAt!.Value, sweptAt, stack.Clock.GetUtcNow());
        Assert.Null(dead.NextRenewalAt);
        Assert.Empty(await stack.RowsAsync(StorageOptions.RenewalIndexTableName));

        var view = await App.GetJsonAsync($"api/connections/{id}");
        Assert.Equal("needs-reconsent", view.GetProperty("status").GetString());
        var problem = await App.GetJsonAsync($"api/connections/{id}/token", HttpStatusCode.Conflict);
        Assert.Equal("urn:freshbooks-connect:problem:needs-reconsent", problem.GetProperty("type").GetString());

        // No further refreshing: later sweeps and token requests call FreshBooks no more.
        var tokenCalls = stack.Emulator.Calls.Count(c => c.Endpoint == EndpointKind.Token);
        stack.Clock.Advance(TimeSpan.FromHours(1));
        await RenewalDriver.SweepAndRenewAsync(stack, App);
        await App.GetJsonAsync($"api/connections/{id}/token", HttpStatusCode.Conflict);
        Assert.Equal(tokenCalls, stack.Emulator.Calls.Count(c => c.Endpoint == EndpointKind.Token));

        // Consenting again revives the same connection.
        var (status, _, sameId) = await App.ConnectAsync("revoked");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(id, sameId);
        var revived = await RenewalDriver.ConnectionAsync(App, id);
        Assert.Equal(ConnectionStatus.Active, revived.Status);
        Assert.True(stack.Emulator.IsAccessTokenValid(revived.AccessToken));
        Assert.Single(await stack.RowsAsync(StorageOptions.RenewalIndexTableName));
    }

    [Fact]
    public async Task Transient_failures_are_retried_inline_then_by_later_sweeps_and_the_connection_recovers()
    {
        var (_, _, id) = await App.ConnectAsync("flaky");
        stack.Clock.Advance(TimeSpan.FromHours(11.5));

        // A 503 and a 429 with a short Retry-After: retried within the renewal.
        stack.Emulator.Faults.EnqueueToken(TokenFault.ServerError);
        stack.Emulator.Faults.EnqueueToken(TokenFault.TooManyRequests(TimeSpan.FromSeconds(1)));
        await RenewalDriver.SweepAndRenewAsync(stack, App);
        var recovered = await RenewalDriver.ConnectionAsync(App, id);
        Assert.Equal(2, recovered.TokenGeneration);
        Assert.Equal(0, recovered.FailedAttempts);

        // FreshBooks down for longer: the failure is recorded, and the connection waits before the next try.
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        for (var i = 0; i < 3; i++)
        {
            stack.Emulator.Faults.EnqueueToken(TokenFault.ServerError);
        }

        await RenewalDriver.SweepAndRenewAsync(stack, App);
        var failed = await RenewalDriver.ConnectionAsync(App, id);
        Assert.Equal(2, failed.TokenGeneration);
        Assert.Equal(ConnectionStatus.Active, failed.Status);
        Assert.Equal(1, failed.FailedAttempts);
        Assert.Equal("503", failed.LastError);
        Assert.InRange(failed.NextRenewalAt!.Value, failed.LastErrorAt!.Value.AddMinutes(2), failed.LastErrorAt!.Value.AddMinutes(2.5));
        var view = await App.GetJsonAsync($"api/connections/{id}");
        Assert.Equal(1, view.GetProperty("failedAttempts").GetInt32());

        // No retry storm: a sweep before the backoff ends calls FreshBooks no more.
        var calls = stack.Emulator.Calls.Count;
        Assert.Equal(0, await RenewalDriver.SweepAndRenewAsync(stack, App));
        Assert.Equal(calls, stack.Emulator.Calls.Count);

        stack.Clock.Advance(TimeSpan.FromMinutes(3));
        await RenewalDriver.SweepAndRenewAsync(stack, App);
        var healthy = await RenewalDriver.ConnectionAsync(App, id);
        Assert.Equal(3, healthy.TokenGeneration);
        Assert.Equal(0, healthy.FailedAttempts);
        Assert.True(stack.Emulator.IsAccessTokenValid(healthy.AccessToken));
    }

    [Fact]
    public async Task Long_Retry_After_moves_the_renewal_to_a_later_sweep_without_waiting()
    {
        var (_, _, id) = await App.ConnectAsync("throttled");
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        stack.Emulator.Faults.EnqueueToken(TokenFault.TooManyRequests(TimeSpan.FromMinutes(20)));
        var sweptAt = stack.Clock.GetUtcNow();

        await RenewalDriver.SweepAndRenewAsync(stack, App);

        var throttled = await RenewalDriver.ConnectionAsync(App, id);
        Assert.Equal(1, throttled.FailedAttempts);
        Assert.True(throttled.NextRenewalAt >= sweptAt.AddMinutes(20));
        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token && c.GrantType == "refresh_token");
    }

    [Fact]
    public async Task Token_API_returns_the_stored_token_and_refreshes_inline_once_when_it_is_about_to_expire()
    {
        var (_, _, id) = await App.ConnectAsync("tokens");
        var first = await App.GetJsonAsync($"api/connections/{id}/token");
        Assert.Equal("Bearer", first.GetProperty("tokenType").GetString());
        Assert.Equal(id, first.GetProperty("connectionId").GetString());
        Assert.Equal(EmulatedUser.Default.Businesses[0].AccountId, first.GetProperty("businesses")[0].GetProperty("accountId").GetString());
        Assert.DoesNotContain(stack.Emulator.Calls, c => c.GrantType == "refresh_token");

        stack.Clock.Advance(TimeSpan.FromHours(11) + TimeSpan.FromMinutes(57));
        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => App.GetJsonAsync($"api/connections/{id}/token")));

        Assert.Single(stack.Emulator.Calls, c => c.GrantType == "refresh_token");
        var renewed = answers.Select(a => a.GetProperty("accessToken").GetString()).Distinct().Single();
        Assert.NotEqual(first.GetProperty("accessToken").GetString(), renewed);
        Assert.True(stack.Emulator.IsAccessTokenValid(renewed!));
        Assert.Empty(stack.Emulator.Misuses);
    }

    [Fact]
    public async Task A_token_asked_for_while_this_instance_renews_the_connection_is_the_new_one_not_the_one_the_renewal_killed()
    {
        // The soak found it: the sweep's refresh on this instance had killed the stored token at FreshBooks, and a token request
        // here, reading the row leased by this very instance, answered it as current before the new pair was saved.
        var hooks = new FreshBooksHooks();
        var app = await stack.StartAppAsync(services: hooks.AddTo, instanceOf: App);
        var (_, _, id) = await app.ConnectAsync("renewing-here");
        var before = (await app.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!;
        stack.Clock.Advance(TimeSpan.FromHours(11));
        Task<JsonElement>? asked = null;
        hooks.AfterRefresh = async _ =>
        {
            // FreshBooks has rotated (the stored token is dead); the save has not happened yet.
            asked = app.GetJsonAsync($"api/connections/{id}/token");
            await Task.WhenAny(asked, Task.Delay(TimeSpan.FromSeconds(2)));
        };

        await RenewalDriver.SweepAndRenewAsync(stack, app);
        hooks.AfterRefresh = null;

        Assert.NotNull(asked);
        var served = (await asked).GetProperty("accessToken").GetString()!;
        Assert.False(stack.Emulator.IsAccessTokenValid(before));
        Assert.NotEqual(before, served);
        Assert.Equal((await RenewalDriver.ConnectionAsync(app, id)).AccessToken, served);
        Assert.True(stack.Emulator.IsAccessTokenValid(served));
        Assert.Single(stack.Emulator.Calls, c => c.GrantType == "refresh_token");
        await app.DisposeAsync();
    }

    [Fact]
    public async Task Token_API_answers_are_never_cached_and_need_the_function_key()
    {
        var (_, _, id) = await App.ConnectAsync("keys");
        using var anonymous = new HttpClient { BaseAddress = App.Host.BaseUri };

        using var refused = await anonymous.GetAsync($"api/connections/{id}/token");
        using var answered = await App.Api.GetAsync($"api/connections/{id}/token");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("no-store", answered.Headers.CacheControl!.ToString());
    }

    [Fact]
    public async Task A_burst_of_401s_for_one_token_causes_one_refresh_and_everyone_gets_the_new_token()
    {
        var (_, _, id) = await App.ConnectAsync("burst");
        var rejected = (await App.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString();
        var other = await stack.StartAppAsync(instanceOf: App);

        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
        {
            using var response = await (i % 2 == 0 ? App : other).Api.PostAsJsonAsync($"api/connections/{id}/refresh", new { accessToken = rejected });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        }));

        Assert.Single(stack.Emulator.Calls, c => c.GrantType == "refresh_token");
        var fresh = answers.Distinct().Single();
        Assert.NotEqual(rejected, fresh);
        Assert.True(stack.Emulator.IsAccessTokenValid(fresh!));
        Assert.DoesNotContain(stack.Emulator.Misuses, m => m.Kind == MisuseKind.ReusedRefreshToken);
    }

    [Fact]
    public async Task Delete_revokes_at_FreshBooks_then_removes_the_connection()
    {
        var (_, _, id) = await App.ConnectAsync("leaving");
        var token = (await App.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!;

        using var deleted = await App.Api.DeleteAsync($"api/connections/{id}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(stack.Emulator.IsAccessTokenValid(token));
        Assert.Contains(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Revoke && c.StatusCode == 200);
        Assert.Empty(await stack.ConnectionRowsAsync());
        Assert.Empty(await stack.RowsAsync(StorageOptions.RenewalIndexTableName));
        await App.GetJsonAsync($"api/connections/{id}", HttpStatusCode.NotFound);
        using var again = await App.Api.DeleteAsync($"api/connections/{id}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task Connections_are_listed_a_page_at_a_time_without_tokens()
    {
        foreach (var tenant in new[] { "list1", "list2", "list3" })
        {
            await App.ConnectAsync(tenant);
        }

        var first = await App.GetJsonAsync("api/connections?pageSize=2");
        Assert.Equal(2, first.GetProperty("connections").GetArrayLength());
        var next = first.GetProperty("continuationToken").GetString();
        var second = await App.GetJsonAsync($"api/connections?pageSize=2&continuationToken={next}");
        Assert.Equal(1, second.GetProperty("connections").GetArrayLength());
        Assert.False(second.TryGetProperty("continuationToken", out _));
        Assert.DoesNotContain("\"accessToken\"", first.GetRawText() + second.GetRawText(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\"refreshToken\"", first.GetRawText() + second.GetRawText(), StringComparison.OrdinalIgnoreCase);

        await App.GetJsonAsync("api/connections?pageSize=0", HttpStatusCode.BadRequest);
        await App.GetJsonAsync("api/connections?pageSize=2&pageSize=3", HttpStatusCode.BadRequest);
        await App.GetJsonAsync("api/connections?continuationToken=%%%", HttpStatusCode.BadRequest);
    }

    private async Task RevokeAtFreshBooksAsync(string refreshToken)
    {
        using var http = new HttpClient { BaseAddress = stack.Emulator.BaseUri };
        using var response = await http.PostAsJsonAsync("auth/oauth/revoke", new { client_id = ConnectStack.ClientId, client_secret = ConnectStack.ClientSecret, token = refreshToken });
        response.EnsureSuccessStatusCode();
    }

    private static Connection SeededConnection(string id, DateTimeOffset now, DateTimeOffset nextRenewal) => new()
    {
        Id = id,
        Identity = new FreshBooks.FreshBooksIdentity(1, null, "Idle", "Customer", null, []),
        AccessToken = "not-a-real-token",
        RefreshToken = "not-a-real-refresh-token",
        AccessTokenExpiresAt = now.AddHours(12),
        TokenGeneration = 1,
        CreatedAt = now,
        UpdatedAt = now,
        NextRenewalAt = nextRenewal,
    };
}
