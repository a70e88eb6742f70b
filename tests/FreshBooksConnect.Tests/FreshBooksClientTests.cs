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
        var url = plain.BuildAuthorizeUrl("st ate");
        Assert.Equal("https://auth.freshbooks.com/oauth/authorize/?response_type=code&client_id=client&redirect_uri=https%3A%2F%2Fapp.example%2Fapi%2Fcallback&state=st%20ate", url.AbsoluteUri);

        var (scoped, _) = Create((_, _) => throw new InvalidOperationException(), Options("user:profile:read user:clients:read"));
        Assert.Contains("scope=user%3Aprofile%3Aread%20user%3Aclients%3Aread", scoped.BuildAuthorizeUrl("s").Query);
    }

    [Fact]
    public async Task Code_exchange_sends_json_with_every_field_and_parses_the_pair()
    {
        var (client, handler) = Create((_, _) => Json(HttpStatusCode.OK,
            $$$"""{"access_token":"a1","token_type":"Bearer","expires_in":43200,"refresh_token":"r1","scope":"user:profile:read","created_at":{{{Now.ToUnixTimeSeconds()}}},"direct_buy_tokens":{}}"""));

        var result = await client.ExchangeCodeAsync("the-code", default);

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
    }

    [Theory]
    [InlineData(-3600, -3600)] // a refresh that echoes the grant's original created_at: expiry follows created_at
    [InlineData(7200, 0)]      // created_at in the future (a skewed clock): clamped to receipt + expires_in
    public async Task Expiry_is_created_at_plus_expires_in_clamped_by_the_time_of_asking(int createdOffset, int expectedOffset)
    {
        var (client, _) = Create((_, _) => Json(HttpStatusCode.OK,
            $$$"""{"access_token":"a","refresh_token":"r","expires_in":43200,"created_at":{{{Now.AddSeconds(createdOffset).ToUnixTimeSeconds()}}}}"""));

        var result = await client.RefreshAsync("r0", default);

        Assert.Equal(Now.AddHours(12).AddSeconds(expectedOffset), result.Value!.AccessTokenExpiresAt);
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
    public async Task A_success_without_tokens_is_treated_as_malformed_and_transient()
    {
        var (client, _) = Create((_, _) => Json(HttpStatusCode.OK, """{"token_type":"Bearer"}"""));

        Assert.Equal(FreshBooksOutcome.Transient, (await client.RefreshAsync("r0", default)).Outcome);
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
}
