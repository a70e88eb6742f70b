using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;

namespace FreshBooks.Emulator.Tests;

public sealed partial class AuthorizeTests(EmulatorFixture fixture) : EmulatorTest(fixture)
{
    [Fact]
    public async Task Consent_page_shows_app_scopes_and_user_under_a_strict_csp()
    {
        using var response = await Http.GetAsync(Client.AuthorizeUrl(scope: "user:profile:read user:clients:read"));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp);
        Assert.Contains("form-action 'self' http://127.0.0.1:9", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("src=", html);
        Assert.Contains("<html lang=\"en\">", html);
        Assert.Contains(Harness.Options.AppName, html);
        Assert.Contains(Client.ClientId, html);
        Assert.Contains("user:profile:read", html);
        Assert.Contains("user:clients:read", html);
        Assert.Contains("Ada Lovelace", html);
        Assert.Contains("<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>", html);
        Assert.Contains("<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>", html);
        Assert.Contains("<form method=\"post\" action=\"/oauth/authorize/\">", html);
        Assert.Contains("name=\"consent_nonce\"", html);
    }

    [Fact]
    public async Task Allow_on_the_consent_form_redirects_with_a_code_and_the_state()
    {
        var fields = await ConsentFormAsync(Client.AuthorizeUrl(state: "s t&ate"));
        fields["decision"] = "allow";

        using var response = await Http.PostAsync("oauth/authorize/", new FormUrlEncodedContent(fields));

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.StartsWith(EmulatorHarness.RedirectUri + "?", location.AbsoluteUri);
        var query = TestClient.Query(location);
        Assert.Equal("s t&ate", query["state"]);
        Assert.Matches("^[0-9a-f]{64}$", query["code"].ToString());
        using var exchange = await Client.ExchangeAsync(query["code"]!);
        Assert.Equal(HttpStatusCode.OK, exchange.StatusCode);
    }

    [Fact]
    public async Task Deny_on_the_consent_form_redirects_with_access_denied_and_the_state()
    {
        var fields = await ConsentFormAsync(Client.AuthorizeUrl(state: "xyz"));
        fields["decision"] = "deny";

        using var response = await Http.PostAsync("oauth/authorize/", new FormUrlEncodedContent(fields));

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var query = TestClient.Query(response.Headers.Location!);
        Assert.Equal("access_denied", query["error"]);
        Assert.False(string.IsNullOrEmpty(query["error_description"]));
        Assert.Equal("xyz", query["state"]);
        Assert.False(query.ContainsKey("code"));
    }

    [Fact]
    public async Task Consent_post_with_a_forged_or_spent_nonce_is_refused()
    {
        var fields = await ConsentFormAsync(Client.AuthorizeUrl());
        fields["decision"] = "allow";
        var forged = new Dictionary<string, string>(fields) { ["consent_nonce"] = "0123456789abcdef0123456789abcdef" };

        using var forgedResponse = await Http.PostAsync("oauth/authorize/", new FormUrlEncodedContent(forged));
        using var first = await Http.PostAsync("oauth/authorize/", new FormUrlEncodedContent(fields));
        using var replay = await Http.PostAsync("oauth/authorize/", new FormUrlEncodedContent(fields));

        Assert.Equal(HttpStatusCode.BadRequest, forgedResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Found, first.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Null(replay.Headers.Location);
        Assert.Equal([MisuseKind.ForgedConsent, MisuseKind.ForgedConsent], MisuseKinds);
    }

    [Fact]
    public async Task Consent_post_with_tampered_request_fields_is_refused()
    {
        var fields = await ConsentFormAsync(Client.AuthorizeUrl(state: "original"));
        fields["decision"] = "allow";
        fields["state"] = "tampered";

        using var response = await Http.PostAsync("oauth/authorize/", new FormUrlEncodedContent(fields));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(MisuseKind.ForgedConsent, MisuseKinds);
    }

    [Fact]
    public async Task Authorize_with_an_unknown_client_shows_an_error_page_and_never_redirects()
    {
        using var response = await Http.GetAsync(Client.AuthorizeUrl(clientId: "someone-else"));

        await AssertErrorPageAsync(response, "invalid_client");
        Assert.Equal([MisuseKind.UnknownClient], MisuseKinds);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/other")]
    [InlineData("http://127.0.0.1:10/callback")]
    [InlineData("https://127.0.0.1:9/callback")]
    [InlineData("http://127.0.0.1:9/callback/")]
    [InlineData("http://127.0.0.1:9/callback?next=/admin")]
    [InlineData("https://evil.example.com/callback")]
    public async Task Authorize_with_an_unregistered_redirect_uri_shows_an_error_page_and_never_redirects(string redirectUri)
    {
        using var response = await Http.GetAsync(Client.AuthorizeUrl(redirectUri: redirectUri));

        await AssertErrorPageAsync(response, "invalid_redirect_uri");
        Assert.Equal([MisuseKind.RedirectUriMismatch], MisuseKinds);
    }

    [Fact]
    public async Task Authorize_with_a_response_type_other_than_code_shows_an_error_page()
    {
        using var response = await Http.GetAsync(Client.AuthorizeUrl(responseType: "token"));

        await AssertErrorPageAsync(response, "unsupported_response_type");
        Assert.Equal([MisuseKind.UnsupportedResponseType], MisuseKinds);
    }

    [Fact]
    public async Task Authorize_for_a_scope_the_app_did_not_register_redirects_with_invalid_scope()
    {
        using var response = await Http.GetAsync(Client.AuthorizeUrl(scope: "user:profile:read admin:everything", state: "abc"));

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var query = TestClient.Query(response.Headers.Location!);
        Assert.Equal("invalid_scope", query["error"]);
        Assert.Equal("abc", query["state"]);
        Assert.Equal([MisuseKind.InvalidScope], MisuseKinds);
    }

    [Fact]
    public async Task Authorize_without_a_scope_grants_the_apps_registered_scopes()
    {
        var pair = await Client.ConnectAsync(scope: null);

        Assert.Equal(Harness.Options.Scopes, pair.Scope);
    }

    [Fact]
    public async Task ApproveAsync_refuses_what_the_consent_page_refuses()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => Emulator.ApproveAsync(Client.AuthorizeUrl(redirectUri: "http://127.0.0.1:9/elsewhere")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Emulator.ApproveAsync(Client.AuthorizeUrl(clientId: "nope")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Emulator.ApproveAsync(Client.AuthorizeUrl(responseType: "token")));
        await Assert.ThrowsAsync<ArgumentException>(() => Emulator.ApproveAsync(Client.AuthorizeUrl(), userId: 424242));

        Assert.Equal([MisuseKind.RedirectUriMismatch, MisuseKind.UnknownClient, MisuseKind.UnsupportedResponseType], MisuseKinds);
    }

    [Fact]
    public async Task ApproveAsync_returns_the_redirect_with_code_and_state()
    {
        var redirect = await Emulator.ApproveAsync(Client.AuthorizeUrl(state: "st"));

        Assert.Equal(EmulatorHarness.RedirectUri, redirect.GetLeftPart(UriPartial.Path));
        Assert.Equal("st", TestClient.Query(redirect)["state"]);
        Assert.Matches("^[0-9a-f]{64}$", TestClient.Query(redirect)["code"].ToString());
    }

    [Fact]
    public void Deny_returns_the_access_denied_redirect()
    {
        var redirect = Emulator.Deny(Client.AuthorizeUrl(state: "st"));

        var query = TestClient.Query(redirect);
        Assert.Equal(EmulatorHarness.RedirectUri, redirect.GetLeftPart(UriPartial.Path));
        Assert.Equal("access_denied", query["error"]);
        Assert.Equal("st", query["state"]);
    }

    [Fact]
    public async Task Login_hint_and_the_user_picker_choose_who_consents()
    {
        var grace = new EmulatedUser(2, "uuid-grace", "Grace", "Hopper", "grace@example.com",
            [new EmulatedBusiness(11, 21, "biz-uuid-21", "Compilers Inc.", "GRC001", "owner"), new EmulatedBusiness(12, 22, "biz-uuid-22", "Navy Ltd.", "GRC002", "admin")]);
        await using var harness = await EmulatorHarness.StartAsync(o => o.Users = [EmulatedUser.Default, grace]);

        using var page = await harness.Http.GetAsync(harness.Client.AuthorizeUrl(loginHint: "grace@example.com"));
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<legend>Signed in as</legend>", html);
        Assert.Contains($"value=\"{grace.Id}\" checked", html);
        Assert.Contains($"value=\"{EmulatedUser.Default.Id}\">", html);

        var fields = HiddenInputs(html);
        fields["decision"] = "allow";
        fields["user_id"] = grace.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var post = await harness.Http.PostAsync("oauth/authorize/", new FormUrlEncodedContent(fields));
        using var exchange = await harness.Client.ExchangeAsync(TestClient.Query(post.Headers.Location!)["code"]!);
        var pair = await TestClient.PairAsync(exchange);
        using var me = await harness.Client.MeAsync(pair.AccessToken);
        Assert.Contains("\"email\":\"grace@example.com\"", await me.Content.ReadAsStringAsync());

        var byId = await harness.Client.ConnectAsync(userId: EmulatedUser.Default.Id);
        using var ada = await harness.Client.MeAsync(byId.AccessToken);
        Assert.Contains("\"email\":\"ada@example.com\"", await ada.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Invalid_options_fail_at_start()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => EmulatorHarness.StartAsync(o => o.RedirectUris = ["https://app.example.com/cb?x=1"]));
        await Assert.ThrowsAsync<ArgumentException>(() => EmulatorHarness.StartAsync(o => o.Users = []));
    }

    private async Task<Dictionary<string, string>> ConsentFormAsync(Uri authorizeUrl)
    {
        using var response = await Http.GetAsync(authorizeUrl);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return HiddenInputs(await response.Content.ReadAsStringAsync());
    }

    private static Dictionary<string, string> HiddenInputs(string html) =>
        HiddenInput().Matches(html).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));

    private static async Task AssertErrorPageAsync(HttpResponseMessage response, string error)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Equal(new MediaTypeHeaderValue("text/html") { CharSet = "utf-8" }, response.Content.Headers.ContentType);
        Assert.Contains(error, await response.Content.ReadAsStringAsync());
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(\\w+)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenInput();
}
