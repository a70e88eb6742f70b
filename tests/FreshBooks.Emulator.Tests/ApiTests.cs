using System.Net;
using System.Text.Json;

namespace FreshBooks.Emulator.Tests;

public sealed class ApiTests(EmulatorFixture fixture) : EmulatorTest(fixture)
{
    [Fact]
    public async Task Users_me_answers_the_identity_and_its_business_memberships()
    {
        var pair = await Client.ConnectAsync();

        using var response = await Client.MeAsync(pair.AccessToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var me = body.RootElement.GetProperty("response");
        var ada = EmulatedUser.Default;
        var business = ada.Businesses[0];
        Assert.Equal(ada.Id, me.GetProperty("id").GetInt64());
        Assert.Equal(ada.IdentityUuid, me.GetProperty("identity_uuid").GetString());
        Assert.Equal("Ada", me.GetProperty("first_name").GetString());
        Assert.Equal("Lovelace", me.GetProperty("last_name").GetString());
        Assert.Equal("ada@example.com", me.GetProperty("email").GetString());
        var membership = Assert.Single(me.GetProperty("business_memberships").EnumerateArray());
        Assert.Equal(business.MembershipId, membership.GetProperty("id").GetInt64());
        Assert.Equal("owner", membership.GetProperty("role").GetString());
        var biz = membership.GetProperty("business");
        Assert.Equal(business.BusinessId, biz.GetProperty("id").GetInt64());
        Assert.Equal(business.BusinessUuid, biz.GetProperty("business_uuid").GetString());
        Assert.Equal("Analytical Engines Ltd.", biz.GetProperty("name").GetString());
        Assert.Equal(business.AccountId, biz.GetProperty("account_id").GetString());
        Assert.NotEqual(business.MembershipId, business.BusinessId);
        Assert.Equal(JsonValueKind.Array, me.GetProperty("roles").ValueKind);
    }

    [Fact]
    public async Task Users_me_with_an_unknown_or_missing_token_is_401_unauthenticated()
    {
        using var unknown = await Client.MeAsync(new string('c', 64));
        using var missing = await Client.MeAsync(null);

        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal("unauthenticated", await TestClient.ErrorAsync(unknown));
        Assert.Equal("Bearer", unknown.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal([MisuseKind.DeadAccessToken, MisuseKind.MissingAccessToken], MisuseKinds);
    }

    [Fact]
    public async Task Clients_endpoint_lists_clients_of_the_users_account()
    {
        var pair = await Client.ConnectAsync();

        using var response = await Client.ClientsAsync(pair.AccessToken, EmulatedUser.Default.Businesses[0].AccountId);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var result = body.RootElement.GetProperty("response").GetProperty("result");
        var clients = result.GetProperty("clients").EnumerateArray().ToList();
        Assert.NotEmpty(clients);
        Assert.Equal(clients.Count, result.GetProperty("total").GetInt32());
        Assert.Equal(1, result.GetProperty("page").GetInt32());
        Assert.Equal(1, result.GetProperty("pages").GetInt32());
        Assert.Equal(15, result.GetProperty("per_page").GetInt32());
        Assert.All(clients, c =>
        {
            Assert.True(c.GetProperty("id").GetInt64() > 0);
            Assert.False(string.IsNullOrEmpty(c.GetProperty("organization").GetString()));
            Assert.False(string.IsNullOrEmpty(c.GetProperty("email").GetString()));
        });
    }

    [Fact]
    public async Task Clients_endpoint_is_403_for_an_account_the_user_does_not_belong_to()
    {
        var pair = await Client.ConnectAsync();

        using var response = await Client.ClientsAsync(pair.AccessToken, "SOMEONE-ELSES");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal([MisuseKind.Forbidden], MisuseKinds);
    }

    [Fact]
    public async Task Clients_endpoint_is_401_for_a_dead_token()
    {
        var first = await Client.ConnectAsync();
        await Client.RefreshPairAsync(first.RefreshToken);

        using var response = await Client.ClientsAsync(first.AccessToken, EmulatedUser.Default.Businesses[0].AccountId);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("unauthenticated", await TestClient.ErrorAsync(response));
        Assert.Equal([MisuseKind.DeadAccessToken], MisuseKinds);
    }

    [Fact]
    public async Task Clients_endpoint_is_403_without_the_clients_scope()
    {
        var pair = await Client.ConnectAsync(scope: "user:profile:read");

        using var me = await Client.MeAsync(pair.AccessToken);
        using var clients = await Client.ClientsAsync(pair.AccessToken, EmulatedUser.Default.Businesses[0].AccountId);

        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, clients.StatusCode);
        Assert.Equal("insufficient_scope", await TestClient.ErrorAsync(clients));
    }
}
