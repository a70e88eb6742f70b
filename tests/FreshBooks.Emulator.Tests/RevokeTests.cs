using System.Net;

namespace FreshBooks.Emulator.Tests;

public sealed class RevokeTests(EmulatorFixture fixture) : EmulatorTest(fixture)
{
    [Fact]
    public async Task Revoking_an_access_token_kills_it_at_once()
    {
        var pair = await Client.ConnectAsync();

        using var revoke = await Client.RevokeAsync(pair.AccessToken);
        using var me = await Client.MeAsync(pair.AccessToken);

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal("{}", await revoke.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
        Assert.False(Emulator.IsAccessTokenValid(pair.AccessToken));
    }

    [Fact]
    public async Task Revoking_a_refresh_token_ends_the_grant()
    {
        var pair = await Client.ConnectAsync();
        var liveBefore = Emulator.LiveGrantCount;

        using var revoke = await Client.RevokeAsync(pair.RefreshToken);
        using var refresh = await Client.RefreshAsync(pair.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(liveBefore - 1, Emulator.LiveGrantCount);
        Assert.False(Emulator.IsAccessTokenValid(pair.AccessToken));
        Assert.Equal(HttpStatusCode.BadRequest, refresh.StatusCode);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(refresh));
        Assert.Equal([MisuseKind.RevokedToken], MisuseKinds);
    }

    [Fact]
    public async Task Revoking_an_unknown_token_answers_200()
    {
        using var revoke = await Client.RevokeAsync(new string('d', 64));

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
    }

    [Fact]
    public async Task Revoke_with_a_wrong_client_secret_is_refused_and_revokes_nothing()
    {
        var pair = await Client.ConnectAsync();

        using var revoke = await Client.RevokeAsync(pair.RefreshToken, clientSecret: "guess");

        Assert.Equal(HttpStatusCode.Unauthorized, revoke.StatusCode);
        Assert.Equal("invalid_client", await TestClient.ErrorAsync(revoke));
        Assert.True(Emulator.IsAccessTokenValid(pair.AccessToken));
        Assert.Equal([MisuseKind.WrongClientSecret], MisuseKinds);
    }
}
