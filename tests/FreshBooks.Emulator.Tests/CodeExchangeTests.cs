using System.Net;
using System.Text.Json;

namespace FreshBooks.Emulator.Tests;

public sealed class CodeExchangeTests(EmulatorFixture fixture) : EmulatorTest(fixture)
{
    [Fact]
    public async Task Code_exchange_answers_a_token_pair_shaped_like_FreshBooks()
    {
        using var response = await Client.ExchangeAsync(await Client.CodeAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.Matches("^[0-9a-f]{64}$", root.GetProperty("access_token").GetString());
        Assert.Matches("^[0-9a-f]{64}$", root.GetProperty("refresh_token").GetString());
        Assert.Equal("Bearer", root.GetProperty("token_type").GetString());
        Assert.Equal(43200, root.GetProperty("expires_in").GetInt64());
        Assert.Equal("user:profile:read user:clients:read", root.GetProperty("scope").GetString());
        Assert.Equal(Emulator.Clock.GetUtcNow().ToUnixTimeSeconds(), root.GetProperty("created_at").GetInt64());
        Assert.Equal(JsonValueKind.Object, root.GetProperty("direct_buy_tokens").ValueKind);
        Assert.Empty(Emulator.Misuses);
    }

    [Theory]
    [InlineData(BodyEncoding.Json)]
    [InlineData(BodyEncoding.Form)]
    [InlineData(BodyEncoding.Multipart)]
    public async Task Token_endpoint_accepts_json_form_and_multipart_bodies(BodyEncoding encoding)
    {
        using var exchange = await Client.ExchangeAsync(await Client.CodeAsync(), encoding: encoding);
        var pair = await TestClient.PairAsync(exchange);
        using var refresh = await Client.RefreshAsync(pair.RefreshToken, encoding: encoding);

        Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
        Assert.Empty(Emulator.Misuses);
    }

    [Fact]
    public async Task Token_endpoint_refuses_a_body_it_cannot_read()
    {
        using var response = await Http.PostAsync("auth/oauth/token", new StringContent("grant_type=refresh_token", System.Text.Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request", await TestClient.ErrorAsync(response));
    }

    [Fact]
    public async Task Client_credentials_may_come_by_http_basic_authentication()
    {
        var code = await Client.CodeAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "auth/oauth/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code",
                ["code"] = code,
                ["redirect_uri"] = EmulatorHarness.RedirectUri,
            }),
        };
        request.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{Client.ClientId}:{Client.ClientSecret}")));

        using var response = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Code_expires_after_five_minutes()
    {
        var justInTime = await Client.CodeAsync();
        var tooLate = await Client.CodeAsync();
        Emulator.Clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        using var ok = await Client.ExchangeAsync(justInTime);

        Harness.Time.Advance(TimeSpan.FromSeconds(1));
        using var expired = await Client.ExchangeAsync(tooLate);

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, expired.StatusCode);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(expired));
        Assert.Equal([MisuseKind.ExpiredCode], MisuseKinds);
    }

    [Fact]
    public async Task Code_is_single_use_and_its_reuse_revokes_the_grant_issued_from_it()
    {
        var code = await Client.CodeAsync();
        using var first = await Client.ExchangeAsync(code);
        var pair = await TestClient.PairAsync(first);
        var liveBefore = Emulator.LiveGrantCount;

        using var second = await Client.ExchangeAsync(code);

        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(second));
        Assert.Equal(liveBefore - 1, Emulator.LiveGrantCount);
        Assert.False(Emulator.IsAccessTokenValid(pair.AccessToken));
        using var refresh = await Client.RefreshAsync(pair.RefreshToken);
        Assert.Equal(HttpStatusCode.BadRequest, refresh.StatusCode);
        Assert.Equal([MisuseKind.ReusedCode, MisuseKind.RevokedToken], MisuseKinds);
    }

    [Fact]
    public async Task Unknown_code_is_invalid_grant()
    {
        using var response = await Client.ExchangeAsync(new string('a', 64));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(response));
        Assert.Equal([MisuseKind.UnknownCode], MisuseKinds);
    }

    [Fact]
    public async Task Code_exchange_with_another_redirect_uri_than_at_authorize_is_refused_and_keeps_the_code()
    {
        var code = await Client.CodeAsync();

        using var mismatch = await Client.ExchangeAsync(code, redirectUri: "http://127.0.0.1:9/callback/other");
        using var right = await Client.ExchangeAsync(code);

        Assert.Equal(HttpStatusCode.BadRequest, mismatch.StatusCode);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(mismatch));
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal([MisuseKind.RedirectUriMismatch], MisuseKinds);
    }

    [Fact]
    public async Task Wrong_client_secret_is_refused_with_invalid_client_and_keeps_the_code()
    {
        var code = await Client.CodeAsync();

        using var wrong = await Client.ExchangeAsync(code, clientSecret: "guess");
        using var right = await Client.ExchangeAsync(code);

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("invalid_client", await TestClient.ErrorAsync(wrong));
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal([MisuseKind.WrongClientSecret], MisuseKinds);
    }

    [Fact]
    public async Task Unknown_client_is_refused_with_invalid_client()
    {
        using var response = await Client.PostTokenAsync(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["client_id"] = "someone-else",
            ["client_secret"] = Client.ClientSecret,
            ["code"] = await Client.CodeAsync(),
            ["redirect_uri"] = EmulatorHarness.RedirectUri,
        });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_client", await TestClient.ErrorAsync(response));
        Assert.Equal([MisuseKind.UnknownClient], MisuseKinds);
    }

    [Fact]
    public async Task Unsupported_grant_type_is_refused()
    {
        using var response = await Client.PostTokenAsync(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = Client.ClientId,
            ["client_secret"] = Client.ClientSecret,
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("unsupported_grant_type", await TestClient.ErrorAsync(response));
        Assert.Equal([MisuseKind.UnsupportedGrantType], MisuseKinds);
    }
}
