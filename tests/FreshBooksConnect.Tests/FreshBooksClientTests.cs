using System.Net;
using System.Text;
using System.Text.Json;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.FreshBooks.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace FreshBooksConnect.Tests;

public sealed class FreshBooksClientTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Now);

    private static FreshBooksOptions Options(string? scopes = null) => new()
    {
        ClientId = "client",
        ClientSecret = "secret",
        RedirectUri = new Uri("https://app.example/api/callback"),
        Scopes = scopes,
    };

    private (FreshBooksClient Client, StubHandler Handler) Create(Func<HttpRequestMessage, string?, HttpResponseMessage> answer, FreshBooksOptions? options = null)
    {
        var handler = new StubHandler(answer);
        var http = new HttpClient(handler) { BaseAddress = new Uri("https://api.example/") };
        return (new FreshBooksClient(http, Microsoft.Extensions.Options.Options.Create(options ?? Options()), _time, NullLogger<FreshBooksClient>.Instance), handler);
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    [Fact]
    public void Authorize_url_carries_the_app_the_redirect_and_the_state_and_scope_only_when_configured()
    {
        var (plain, _) = Create((_, _) => throw new InvalidOperationException());
        var url = plain.BuildAuthorizeUrl("st ate", codeVerifier: null);
        Assert.Equal("https://auth.freshbooks.com/oauth/authorize/?response_type=code&client_id=client&redirect_uri=https%3A%2F%2Fapp.example%2Fapi%2Fcallback&state=st%20ate", url.AbsoluteUri);

        var (scoped, _) = Create((_, _) => throw new InvalidOperationException(), Options("user:profile:read user:clients:read"));
        Assert.Contains("scope=user%3Aprofile%3Aread%20user%3Aclients%3Aread", scoped.BuildAuthorizeUrl("s", codeVerifier: null).Query);
    }

    [Fact]
    public async Task Code_exchange_sends_json_with_every_field_and_parses_the_pair()
    {
        var (client, handler) = Create((_, _) => Json(HttpStatusCode.OK,
            $$$"""{"access_token":"a1","token_type":"Bearer","expires_in":43200,"refresh_token":"r1","scope":"user:profile:read","created_at":{{{Now.ToUnixTimeSeconds()}}},"direct_buy_tokens":{}}"""));

        var result = await client.ExchangeCodeAsync("the-code", codeVerifier: null, default);

        Assert.True(result.IsSuccess);
        Assert.Equal(new TokenGrant("a1", "r1", "user:profile:read", Now.AddHours(12)), result.Value);
        var (request, body) = Assert.Single(handler.Sent);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("https://api.example/auth/oauth/token", request.RequestUri!.AbsoluteUri);
        Assert.Equal("application/json", request.Content!.Headers.ContentType!.MediaType);
        var sent = JsonDocument.Parse(body!).RootElement;
        Assert.Equal("authorization_code", sent.GetProperty("grant_type").GetString());
        Assert.Equal("client", sent.GetProperty("client_id").GetString());
        Assert.Equal("secret", sent.GetProperty("client_secret").GetString());
        Assert.Equal("the-code", sent.GetProperty("code").GetString());
        Assert.Equal("https://app.example/api/callback", sent.GetProperty("redirect_uri").GetString());
        Assert.False(sent.TryGetProperty("refresh_token", out _));
        Assert.False(sent.TryGetProperty("code_verifier", out _));
    }

    [Fact]
    public void Authorize_url_with_a_code_verifier_carries_its_S256_challenge_and_never_the_verifier()
    {
        // RFC 7636, appendix B.
        const string Verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        var (client, _) = Create((_, _) => throw new InvalidOperationException());

        var url = client.BuildAuthorizeUrl("s", Verifier);

        Assert.EndsWith("&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256", url.AbsoluteUri, StringComparison.Ordinal);
        Assert.DoesNotContain(Verifier, url.AbsoluteUri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Code_exchange_with_a_code_verifier_sends_it_beside_the_code()
    {
        var (client, handler) = Create((_, _) => Json(HttpStatusCode.OK, """{"access_token":"a1","token_type":"Bearer","expires_in":43200,"refresh_token":"r1","scope":"s"}"""));

        await client.ExchangeCodeAsync("the-code", "the-verifier", default);

        var sent = JsonDocument.Parse(Assert.Single(handler.Sent).Body!).RootElement;
        Assert.Equal("the-code", sent.GetProperty("code").GetString());
        Assert.Equal("the-verifier", sent.GetProperty("code_verifier").GetString());
    }

    [Theory]
    [InlineData("-39600")]                 // a refresh that echoes the grant's original created_at (11 hours ago)
    [InlineData("MILLISECONDS")]           // created_at in milliseconds
    [InlineData(null)]                     // no created_at
    [InlineData("3600")]                   // created_at an hour ahead (a skewed clock)
    [InlineData("\"STRING\"")]            // created_at as a string
    public async Task Expiry_counts_from_when_the_answer_arrived_whatever_created_at_says(string? createdAt)
    {
        var value = createdAt switch
        {
            null => null,
            "MILLISECONDS" => Now.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "\"STRING\"" => $"\"{Now.ToUnixTimeSeconds()}\"",
            _ => Now.AddSeconds(int.Parse(createdAt, System.Globalization.CultureInfo.InvariantCulture)).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var (client, handler) = Create((_, _) => Json(HttpStatusCode.OK,
            $$$"""{"access_token":"a","token_type":"Bearer","refresh_token":"r","expires_in":43200{{{(value is null ? "" : $",\"created_at\":{value}")}}}}"""));

        var result = await client.RefreshAsync("r0", default);

        Assert.True(result.IsSuccess);
        Assert.Equal(Now.AddHours(12), result.Value!.AccessTokenExpiresAt);
        Assert.Single(handler.Sent);
    }

    public static TheoryData<string, string?, string, string, int> OddButUsableAnswers() => new()
    {
        // body, content type, expected access token, expected refresh token, expected lifetime in seconds
        { """{"access_token":"a","token_type":"Bearer","refresh_token":"r","scope":"s"}""", "application/json", "a", "r", FreshBooksClient.AssumedLifetimeSeconds },
        { """{"access_token":"a","token_type":"Bearer","expires_in":null,"refresh_token":"r"}""", "application/json", "a", "r", FreshBooksClient.AssumedLifetimeSeconds },
        { """{"access_token":"a","token_type":"Bearer","expires_in":0,"refresh_token":"r"}""", "application/json", "a", "r", FreshBooksClient.AssumedLifetimeSeconds },
        { """{"access_token":"a","token_type":"Bearer","expires_in":-1,"refresh_token":"r"}""", "application/json", "a", "r", FreshBooksClient.AssumedLifetimeSeconds },
        { """{"access_token":"a","token_type":"Bearer","expires_in":99999999999999,"refresh_token":"r"}""", "application/json", "a", "r", FreshBooksClient.AssumedLifetimeSeconds },
        { """{"access_token":"a","token_type":"Bearer","expires_in":"soon","refresh_token":"r"}""", "application/json", "a", "r", FreshBooksClient.AssumedLifetimeSeconds },
        { """{"access_token":"a","token_type":"Bearer","expires_in":43200.0,"refresh_token":"r"}""", "application/json", "a", "r", 43200 },
        { """{"access_token":"a","token_type":"Bearer","expires_in":"43200","refresh_token":"r"}""", "application/json", "a", "r", 43200 },
        { """{"access_token":"a","token_type":"Bearer","expires_in":43200,"refresh_token":"r"}""", "application/json; charset=foo-unknown", "a", "r", 43200 },
        { """{"access_token":"a","token_type":"Bearer","expires_in":43200,"refresh_token":"r"}""", null, "a", "r", 43200 },
        { """{"access_token":"  a \n","token_type":"Bearer","expires_in":43200,"refresh_token":" r\n "}""", "application/json", "a", "r", 43200 },
        { """{"access_token":"a","token_type":"bearer","expires_in":43200,"refresh_token":"r"}""", "application/json", "a", "r", 43200 },
        { """{"access_token":"a","expires_in":43200,"refresh_token":"r"}""", "application/json", "a", "r", 43200 },
        { """{"access_token":"a","token_type":"Bearer","expires_in":43200,"refresh_token":"r","direct_buy_tokens":{"x":[1,{"y":null}]},"new":[true]}""", "application/json", "a", "r", 43200 },
    };

    [Theory]
    [MemberData(nameof(OddButUsableAnswers))]
    public async Task A_200_that_carries_a_pair_is_used_whatever_else_is_odd_and_never_asked_again(string body, string? contentType, string access, string refresh, int lifetime)
    {
        var (client, handler) = Create((_, _) => new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = contentType is null ? new ByteArrayContent(Encoding.UTF8.GetBytes(body)) : new ByteArrayContent(Encoding.UTF8.GetBytes(body)) { Headers = { { "Content-Type", contentType } } },
        });

        var result = await client.RefreshAsync("r0", default);

        Assert.True(result.IsSuccess, $"{result.Outcome} {result.Error}");
        Assert.Equal(access, result.Value!.AccessToken);
        Assert.Equal(refresh, result.Value.RefreshToken);
        Assert.Equal(Now.AddSeconds(lifetime), result.Value.AccessTokenExpiresAt);
        Assert.Single(handler.Sent);
    }

    [Theory]
    [InlineData("""{"access_token":"a","token_type":"Bearer","expires_in":43200}""")]
    [InlineData("""{"token_type":"Bearer"}""")]
    [InlineData("<html><body>Thanks for waiting</body></html>")]
    [InlineData("""{"access_token":"a","refresh_token":"   "}""")]
    [InlineData("[1,2]")]
    public async Task A_200_without_a_refresh_token_is_an_unreadable_answer_not_a_transient_failure(string body)
    {
        var (client, handler) = Create((_, _) => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") });

        var result = await client.RefreshAsync("r0", default);

        // FreshBooks may have spent the refresh token: asking again at once would spend it twice.
        Assert.Equal(FreshBooksOutcome.UnreadableAnswer, result.Outcome);
        Assert.Single(handler.Sent);
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest, """{"error":"invalid_grant","error_description":"The provided authorization grant is invalid"}""", FreshBooksOutcome.InvalidGrant)]
    [InlineData(HttpStatusCode.Unauthorized, """{"error":"invalid_client"}""", FreshBooksOutcome.InvalidClient)]
    [InlineData(HttpStatusCode.Unauthorized, """{"error":"unauthenticated"}""", FreshBooksOutcome.Unauthenticated)]
    [InlineData(HttpStatusCode.Forbidden, """{"error":"forbidden"}""", FreshBooksOutcome.Forbidden)]
    [InlineData(HttpStatusCode.BadRequest, """{"error":"invalid_request"}""", FreshBooksOutcome.Rejected)]
    [InlineData(HttpStatusCode.BadGateway, """{"error":"upstream"}""", FreshBooksOutcome.Transient)]
    public async Task Error_answers_are_outcomes_not_exceptions(HttpStatusCode status, string body, FreshBooksOutcome expected)
    {
        var (client, _) = Create((_, _) => Json(status, body));

        var result = await client.RefreshAsync("r0", default);

        Assert.Equal(expected, result.Outcome);
        Assert.Null(result.Value);
    }

    [Fact]
    public async Task An_html_error_page_is_transient()
    {
        var (client, _) = Create((_, _) => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Content = new StringContent("<html>down</html>", Encoding.UTF8, "text/html") });

        var result = await client.RefreshAsync("r0", default);

        Assert.Equal(FreshBooksOutcome.Transient, result.Outcome);
    }

    [Fact]
    public async Task Too_many_requests_carries_retry_after()
    {
        var (client, _) = Create((_, _) =>
        {
            var response = Json(HttpStatusCode.TooManyRequests, """{"error":"rate_limited"}""");
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(42));
            return response;
        });

        var result = await client.RefreshAsync("r0", default);

        Assert.Equal(FreshBooksOutcome.Transient, result.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(42), result.RetryAfter);
    }

    [Fact]
    public async Task A_network_failure_is_transient()
    {
        var (client, _) = Create((_, _) => throw new HttpRequestException("connection reset"));

        var result = await client.RefreshAsync("r0", default);

        Assert.Equal(FreshBooksOutcome.Transient, result.Outcome);
    }

    [Fact]
    public async Task Identity_reads_every_business_membership_and_sends_the_bearer_token()
    {
        var (client, handler) = Create((_, _) => Json(HttpStatusCode.OK, """
            {"response":{"id":42,"identity_uuid":"u-42","first_name":"Ada","last_name":"Lovelace","email":"ada@example.com",
             "business_memberships":[
               {"id":1001,"role":"owner","business":{"id":77,"business_uuid":"b-77","name":"Engines","account_id":"AC77"}},
               {"id":1002,"role":"manager","business":{"id":88,"business_uuid":"b-88","name":"Looms","account_id":"AC88"}}],
             "roles":[]}}
            """));

        var result = await client.GetIdentityAsync("access", default);

        Assert.Equal("Bearer access", handler.Sent[0].Request.Headers.Authorization!.ToString());
        var identity = result.Value!;
        Assert.Equal(42, identity.Id);
        Assert.Equal("Ada Lovelace", identity.DisplayName);
        Assert.Equal(
            [new BusinessMembership(1001, "owner", 77, "b-77", "Engines", "AC77"), new BusinessMembership(1002, "manager", 88, "b-88", "Looms", "AC88")],
            identity.Businesses);
    }

    [Fact]
    public async Task Identity_reads_FreshBooks_shapes_nulls_numbers_as_strings_and_unknown_fields()
    {
        var (client, _) = Create((_, _) => Json(HttpStatusCode.OK, """
            {"response":{"id":"42","identity_id":42,"identity_uuid":"u-42","first_name":null,"last_name":"Lovelace","email":"ada@example.com",
             "phone_numbers":[],"addresses":[{"street":null}],"profession":null,"subscription_statuses":{},
             "business_memberships":[
               {"id":1001,"role":"owner","unacknowledged_change":false,"business":{"id":"77","business_uuid":"b-77","name":"Engines","account_id":"AC77","address":null,"business_clients":[]}},
               {"id":1002,"role":"business_manager","business":{"id":88,"business_uuid":"b-88","name":"Looms","account_id":null}},
               {"id":1003,"role":"business_accountant","business":{"id":99,"name":"Numbers Inc","account_id":12345}},
               {"id":1004,"role":"owner","business":null}],
             "roles":[{"id":1,"role":"admin","systemid":77,"userid":42,"accountid":"AC77"}],
             "groups":[],"links":{},"permissions":{}}}
            """));

        var identity = (await client.GetIdentityAsync("access", default)).Value!;

        Assert.Equal(42, identity.Id);
        Assert.Equal("Lovelace", identity.DisplayName);
        Assert.Equal(
            [
                new BusinessMembership(1001, "owner", 77, "b-77", "Engines", "AC77"),
                new BusinessMembership(1002, "business_manager", 88, "b-88", "Looms", null),
                new BusinessMembership(1003, "business_accountant", 99, null, "Numbers Inc", "12345"),
            ],
            identity.Businesses);
    }

    [Theory]
    [InlineData("""{"response":{"id":0}}""")]
    [InlineData("""{"response":null}""")]
    [InlineData("""{"nothing":1}""")]
    [InlineData("not json")]
    public async Task An_identity_without_a_user_id_is_an_unreadable_answer(string body)
    {
        var (client, _) = Create((_, _) => Json(HttpStatusCode.OK, body));

        Assert.Equal(FreshBooksOutcome.UnreadableAnswer, (await client.GetIdentityAsync("access", default)).Outcome);
    }
}
