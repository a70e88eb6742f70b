using System.Net;

namespace FreshBooks.Emulator.Tests;

public sealed class RefreshTests(EmulatorFixture fixture) : EmulatorTest(fixture)
{
    [Fact]
    public async Task Refresh_token_is_single_use()
    {
        var first = await Client.ConnectAsync();
        var second = await Client.RefreshPairAsync(first.RefreshToken);

        using var reuse = await Client.RefreshAsync(first.RefreshToken);

        Assert.NotEqual(first.RefreshToken, second.RefreshToken);
        Assert.NotEqual(first.AccessToken, second.AccessToken);
        Assert.Equal(HttpStatusCode.BadRequest, reuse.StatusCode);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(reuse));
        Assert.Equal([MisuseKind.ReusedRefreshToken], MisuseKinds);
        var third = await Client.RefreshPairAsync(second.RefreshToken);
        Assert.True(Emulator.IsAccessTokenValid(third.AccessToken));
    }

    [Fact]
    public async Task A_code_or_refresh_token_is_redeemed_once_FreshBooks_processed_a_call_with_it_and_not_by_a_refused_one()
    {
        var code = await Client.CodeAsync();
        Assert.False(Emulator.WasRedeemed(code));
        using (var wrongRedirect = await Client.ExchangeAsync(code, "https://elsewhere.example/callback"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, wrongRedirect.StatusCode);
        }

        Assert.False(Emulator.WasRedeemed(code));
        using (var exchanged = await Client.ExchangeAsync(code))
        {
            Assert.Equal(HttpStatusCode.OK, exchanged.StatusCode);
        }

        Assert.True(Emulator.WasRedeemed(code));
        var pair = await Client.ConnectAsync();
        Assert.False(Emulator.WasRedeemed(pair.RefreshToken));
        Assert.False(Emulator.WasRedeemed(pair.AccessToken));
        await Client.RefreshPairAsync(pair.RefreshToken);
        Assert.True(Emulator.WasRedeemed(pair.RefreshToken));
        Assert.False(Emulator.WasRedeemed("never-issued"));
    }

    [Fact]
    public async Task Refresh_kills_the_previous_access_token_at_once()
    {
        var first = await Client.ConnectAsync();
        using (var before = await Client.MeAsync(first.AccessToken))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        var second = await Client.RefreshPairAsync(first.RefreshToken);
        using var old = await Client.MeAsync(first.AccessToken);
        using var current = await Client.MeAsync(second.AccessToken);

        Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        Assert.Equal(HttpStatusCode.OK, current.StatusCode);
        Assert.False(Emulator.IsAccessTokenValid(first.AccessToken));
        Assert.Equal([MisuseKind.DeadAccessToken], MisuseKinds);
    }

    [Fact]
    public async Task Refresh_answers_created_at_of_the_refresh_and_a_full_lifetime()
    {
        var first = await Client.ConnectAsync();
        Harness.Time.Advance(TimeSpan.FromHours(3));

        var second = await Client.RefreshPairAsync(first.RefreshToken);

        Assert.Equal(first.CreatedAt + 3 * 3600, second.CreatedAt);
        Assert.Equal(43200, second.ExpiresIn);
    }

    [Fact]
    public async Task Refresh_can_answer_the_original_created_at_when_configured()
    {
        await using var harness = await EmulatorHarness.StartAsync(o => o.RefreshKeepsOriginalCreatedAt = true);
        var first = await harness.Client.ConnectAsync();
        harness.Time.Advance(TimeSpan.FromHours(11));

        var second = await harness.Client.RefreshPairAsync(first.RefreshToken);
        harness.Time.Advance(TimeSpan.FromHours(2)); // past created_at + expires_in, within 12 h of the refresh

        Assert.Equal(first.CreatedAt, second.CreatedAt);
        Assert.True(harness.Emulator.IsAccessTokenValid(second.AccessToken));
    }

    [Fact]
    public async Task Refresh_without_redirect_uri_is_accepted()
    {
        var first = await Client.ConnectAsync();

        using var response = await Client.RefreshAsync(first.RefreshToken, redirectUri: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Refresh_with_another_redirect_uri_is_refused_and_spends_nothing()
    {
        var first = await Client.ConnectAsync();

        using var mismatch = await Client.RefreshAsync(first.RefreshToken, redirectUri: "http://127.0.0.1:9/elsewhere");
        using var right = await Client.RefreshAsync(first.RefreshToken);

        Assert.Equal(HttpStatusCode.BadRequest, mismatch.StatusCode);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(mismatch));
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal([MisuseKind.RedirectUriMismatch], MisuseKinds);
    }

    [Fact]
    public async Task Unknown_refresh_token_is_invalid_grant()
    {
        using var response = await Client.RefreshAsync(new string('b', 64));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(response));
        Assert.Equal([MisuseKind.UnknownRefreshToken], MisuseKinds);
    }

    [Fact]
    public async Task Access_token_expires_after_twelve_hours()
    {
        var pair = await Client.ConnectAsync();

        Harness.Time.Advance(TimeSpan.FromHours(12) - TimeSpan.FromSeconds(1));
        using var stillValid = await Client.MeAsync(pair.AccessToken);
        Emulator.Clock.Advance(TimeSpan.FromSeconds(1));
        using var expired = await Client.MeAsync(pair.AccessToken);

        Assert.Equal(HttpStatusCode.OK, stillValid.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        Assert.Equal("unauthenticated", await TestClient.ErrorAsync(expired));
        Assert.False(Emulator.IsAccessTokenValid(pair.AccessToken));
        var renewed = await Client.RefreshPairAsync(pair.RefreshToken); // a refresh token never expires
        Assert.True(Emulator.IsAccessTokenValid(renewed.AccessToken));
    }
}
