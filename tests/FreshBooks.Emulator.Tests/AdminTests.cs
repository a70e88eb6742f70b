using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace FreshBooks.Emulator.Tests;

public sealed class AdminTests(EmulatorFixture fixture) : EmulatorTest(fixture)
{
    [Fact]
    public async Task Calls_record_endpoint_grant_type_status_and_error()
    {
        var pair = await Client.ConnectAsync();
        using (await Client.RefreshAsync(pair.RefreshToken)) { }
        using (await Client.RefreshAsync(pair.RefreshToken)) { }
        using (await Client.MeAsync(pair.AccessToken)) { }

        var calls = Emulator.Calls;

        Assert.Equal(
            [
                (EndpointKind.Token, "authorization_code", 200, null),
                (EndpointKind.Token, "refresh_token", 200, null),
                (EndpointKind.Token, "refresh_token", 400, "invalid_grant"),
                (EndpointKind.UsersMe, null, 401, "unauthenticated"),
            ],
            calls.Select(c => (c.Endpoint, c.GrantType, c.StatusCode, c.Error)).ToList<(EndpointKind, string?, int, string?)>());
        Assert.All(calls, c => Assert.Equal(Emulator.Clock.GetUtcNow(), c.Time));
    }

    [Fact]
    public async Task ResetLog_clears_calls_and_misuses()
    {
        using (await Client.RefreshAsync(new string('f', 64))) { }
        Assert.NotEmpty(Emulator.Calls);
        Assert.NotEmpty(Emulator.Misuses);

        Emulator.ResetLog();

        Assert.Empty(Emulator.Calls);
        Assert.Empty(Emulator.Misuses);
    }

    [Fact]
    public async Task Admin_endpoints_control_the_emulator_from_outside_the_process()
    {
        var authorizeUrl = Client.AuthorizeUrl(state: "admin");
        using var approve = await Http.PostAsync($"_emulator/approve?url={Uri.EscapeDataString(authorizeUrl.AbsoluteUri)}", null);
        Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        var redirect = new Uri((await approve.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("redirect").GetString()!);
        Assert.Equal("admin", TestClient.Query(redirect)["state"]);
        using var exchange = await Client.ExchangeAsync(TestClient.Query(redirect)["code"]!);
        var pair = await TestClient.PairAsync(exchange);

        using var faults = await Http.PostAsync("_emulator/faults", JsonContent.Create(new
        {
            enqueue = new object[] { new { kind = "TooManyRequests", seconds = 2 }, new { kind = "ServerError" } },
        }));
        Assert.Equal(HttpStatusCode.OK, faults.StatusCode);
        Assert.Equal(2, Emulator.Faults.PendingCount);
        using (var limited = await Client.RefreshAsync(pair.RefreshToken))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        }

        using (var cleared = await Http.PostAsync("_emulator/faults", JsonContent.Create(new { clear = true, latency_ms = 5 })))
        {
            Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        }

        Assert.Equal(0, Emulator.Faults.PendingCount);
        Assert.Equal(TimeSpan.FromMilliseconds(5), Emulator.Faults.Latency);

        var before = Emulator.Clock.GetUtcNow();
        using (var advance = await Http.PostAsync("_emulator/clock/advance?seconds=43200", null))
        {
            Assert.Equal(HttpStatusCode.OK, advance.StatusCode);
        }

        Assert.Equal(before.AddHours(12), Emulator.Clock.GetUtcNow());
        using (var me = await Client.MeAsync(pair.AccessToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
        }

        var calls = await Http.GetFromJsonAsync<JsonElement>("_emulator/calls");
        var misuses = await Http.GetFromJsonAsync<JsonElement>("_emulator/misuses");
        Assert.Contains(calls.EnumerateArray(), c => c.GetProperty("fault").GetString() == "TooManyRequests" && c.GetProperty("status_code").GetInt32() == 429);
        Assert.Contains(misuses.EnumerateArray(), m => m.GetProperty("kind").GetString() == "DeadAccessToken");

        using (var reset = await Http.PostAsync("_emulator/reset-log", null))
        {
            Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        }

        Assert.Empty(Emulator.Calls);
        Assert.Empty(Emulator.Misuses);
        var status = await Http.GetFromJsonAsync<JsonElement>("_emulator/status");
        Assert.Equal(Emulator.LiveGrantCount, status.GetProperty("live_grant_count").GetInt32());
    }

    [Fact]
    public async Task Admin_approve_refuses_what_the_consent_page_refuses()
    {
        var bad = Client.AuthorizeUrl(redirectUri: "https://evil.example.com/cb");

        using var response = await Http.PostAsync($"_emulator/approve?url={Uri.EscapeDataString(bad.AbsoluteUri)}", null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
