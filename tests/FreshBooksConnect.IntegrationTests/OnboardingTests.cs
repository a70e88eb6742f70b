using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using FreshBooks.Emulator;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>Start → FreshBooks consent → Callback → connection stored, and every way it can go wrong (issue: onboarding flow).</summary>
[Collection(StackCollection.Name)]
public sealed class OnboardingTests(ConnectStack stack) : IAsyncLifetime
{
    private AppInstance App => stack.App;

    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Onboarding_stores_the_connection_with_identity_businesses_and_expiry()
    {
        var before = stack.Clock.GetUtcNow();
        var (status, page, connectionId) = await App.ConnectAsync("acme", returnUrl: ConnectStack.ReturnUrlPrefix + "integrations");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("FreshBooks is connected", page);
        Assert.Contains("Ada Lovelace (ada@example.com) connected Analytical Engines Ltd. to account “acme”.", page);
        Assert.Contains("href=\"https://saas.example/settings/integrations\"", page);
        Assert.Equal("t-acme", connectionId);

        var connection = await App.GetJsonAsync($"api/connections/{connectionId}");
        Assert.Equal("active", connection.GetProperty("status").GetString());
        Assert.Equal("acme", connection.GetProperty("tenantId").GetString());
        Assert.Equal(EmulatedUser.Default.Id, connection.GetProperty("identity").GetProperty("id").GetInt64());
        Assert.Equal("ada@example.com", connection.GetProperty("identity").GetProperty("email").GetString());
        var business = Assert.Single(connection.GetProperty("businesses").EnumerateArray());
        var expected = EmulatedUser.Default.Businesses[0];
        Assert.Equal(expected.BusinessId, business.GetProperty("businessId").GetInt64());
        Assert.Equal(expected.AccountId, business.GetProperty("accountId").GetString());
        Assert.Equal(expected.BusinessUuid, business.GetProperty("businessUuid").GetString());
        Assert.Equal(expected.Name, business.GetProperty("name").GetString());
        Assert.Equal("user:profile:read user:clients:read", connection.GetProperty("scopes").GetString());
        var expiresAt = connection.GetProperty("accessTokenExpiresAt").GetDateTimeOffset();
        Assert.InRange(expiresAt, before.AddHours(12).AddSeconds(-2), stack.Clock.GetUtcNow().AddHours(12));
        Assert.False(connection.TryGetProperty("accessToken", out _));
        Assert.False(connection.TryGetProperty("refreshToken", out _));

        var calls = stack.Emulator.Calls;
        Assert.Single(calls, c => c.Endpoint == EndpointKind.Token && c.GrantType == "authorization_code" && c.StatusCode == 200);
        Assert.Single(calls, c => c.Endpoint == EndpointKind.UsersMe && c.StatusCode == 200);
        Assert.Empty(stack.Emulator.Misuses);

        // The stored token works on FreshBooks' API.
        var token = await App.GetJsonAsync($"api/connections/{connectionId}/token");
        Assert.True(stack.Emulator.IsAccessTokenValid(token.GetProperty("accessToken").GetString()!));
        var row = Assert.Single(await stack.ConnectionRowsAsync());
        Assert.DoesNotContain(token.GetProperty("accessToken").GetString()!, JsonSerializer.Serialize(row));
    }

    [Fact]
    public async Task A_user_with_several_businesses_one_without_accounting_is_shown_and_served_sensibly()
    {
        var (status, page, connectionId) = await App.ConnectAsync("babbage", EmulatedUser.MultiBusiness.Id);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Charles Babbage (charles@example.com) connected Difference Engine Works, Analytical Engines Ltd. and Babbage Lecture Tours to account “babbage”.", page);
        var token = await App.GetJsonAsync($"api/connections/{connectionId}/token");
        var businesses = token.GetProperty("businesses").EnumerateArray().ToList();
        Assert.Equal(["DEW101", "AEL001", null], businesses.Select(b => b.TryGetProperty("accountId", out var account) ? account.GetString() : null));
        Assert.Equal(["owner", "business_accountant", "business_manager"], businesses.Select(b => b.GetProperty("role").GetString()));
        Assert.Equal([77101L, 77001L, 77102L], businesses.Select(b => b.GetProperty("businessId").GetInt64()));
    }

    [Fact]
    public async Task A_link_lives_one_hour_by_default()
    {
        var before = stack.Clock.GetUtcNow();
        using var response = await App.Api.PostAsJsonAsync("api/onboarding-links", new { tenantId = "hour" });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var expiresAt = body.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expiresAt, before.AddHours(1).AddSeconds(-1), stack.Clock.GetUtcNow().AddHours(1));

        stack.Clock.Advance(TimeSpan.FromMinutes(59));
        await App.StartAsync(body.GetProperty("url").GetString()!);
        stack.Clock.Advance(TimeSpan.FromMinutes(2));
        using var late = await App.Browser.GetAsync(body.GetProperty("url").GetString());
        Assert.Equal(HttpStatusCode.Gone, late.StatusCode);
        Assert.Contains("This link has expired", await late.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_link_is_spent_by_the_consent_it_completes_and_opening_it_again_changes_nothing()
    {
        var (link, connectionId) = await App.CreateLinkAsync("once", ConnectStack.ReturnUrlPrefix + "fb");
        Assert.Equal(HttpStatusCode.OK, (await App.CallbackAsync(await stack.Emulator.ApproveAsync(await App.StartAsync(link)))).Status);
        var row = Assert.Single(await stack.ConnectionRowsAsync());
        var token = await App.GetJsonAsync($"api/connections/{connectionId}/token");
        var states = await stack.RowsAsync(StorageOptions.ConsentStatesTableName);
        var calls = stack.Emulator.Calls.Count;

        // The same browser, and a stranger's browser that got hold of the link.
        foreach (var browser in new[] { App.Browser, new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = App.Host.BaseUri } })
        {
            using var response = await browser.GetAsync(link);
            var page = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Contains("This link was already used", page);
            Assert.Contains($"href=\"{ConnectStack.ReturnUrlPrefix}fb\"", page);
            Assert.False(response.Headers.Contains("Set-Cookie"));
        }

        Assert.Equal(row.ETag, Assert.Single(await stack.ConnectionRowsAsync()).ETag);
        Assert.Equal(states.Select(r => r.ETag), (await stack.RowsAsync(StorageOptions.ConsentStatesTableName)).Select(r => r.ETag));
        Assert.Equal(calls, stack.Emulator.Calls.Count);
        Assert.True(stack.Emulator.IsAccessTokenValid(token.GetProperty("accessToken").GetString()!));
    }

    [Fact]
    public async Task Of_two_consents_started_from_one_link_only_the_first_to_return_completes_and_the_other_code_is_never_spent()
    {
        var (link, connectionId) = await App.CreateLinkAsync("shared");
        var other = await stack.StartAppAsync();
        var first = await stack.Emulator.ApproveAsync(await App.StartAsync(link));
        var second = await stack.Emulator.ApproveAsync(await other.StartAsync(link), ConnectStack.SecondUser.Id);

        Assert.Equal(HttpStatusCode.OK, (await App.CallbackAsync(first)).Status);
        var row = Assert.Single(await stack.ConnectionRowsAsync());
        var (status, page) = await other.CallbackAsync(second);

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("This link was already used", page);
        Assert.Equal(row.ETag, Assert.Single(await stack.ConnectionRowsAsync()).ETag);
        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);
        var token = await App.GetJsonAsync($"api/connections/{connectionId}/token");
        Assert.True(stack.Emulator.IsAccessTokenValid(token.GetProperty("accessToken").GetString()!));
    }

    [Fact]
    public async Task A_declined_failed_or_abandoned_consent_leaves_the_link_usable()
    {
        var (link, _) = await App.CreateLinkAsync("retry");

        // Abandoned at FreshBooks' consent page.
        await App.StartAsync(link);

        // Declined.
        Assert.Contains("FreshBooks was not connected", (await App.CallbackAsync(stack.Emulator.Deny(await App.StartAsync(link)))).Page);

        // FreshBooks failed the exchange.
        stack.Emulator.Faults.EnqueueToken(TokenFault.ServerError);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await App.CallbackAsync(await stack.Emulator.ApproveAsync(await App.StartAsync(link)))).Status);

        var (status, page) = await App.CallbackAsync(await stack.Emulator.ApproveAsync(await App.StartAsync(link)));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("FreshBooks is connected", page);
        Assert.Single(await stack.ConnectionRowsAsync());
    }

    [Fact]
    public async Task Denied_consent_shows_a_clear_page_and_stores_nothing()
    {
        var (link, _) = await App.CreateLinkAsync("declines");
        var consent = await App.StartAsync(link);
        var (status, page) = await App.CallbackAsync(stack.Emulator.Deny(consent));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("FreshBooks was not connected", page);
        await AssertNoConnectionAndNoTokenCallAsync();
    }

    [Fact]
    public async Task Unknown_state_is_refused_and_calls_nothing()
    {
        var state = new string('A', 43);
        var (status, page) = await App.CallbackAsync(new Uri(App.Host.BaseUri, $"api/callback?code=abc123&state={state}"));

        // The same answer as a known state without its cookie: an unknown state tells nothing about the others.
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("Please finish in the same browser", page);
        await AssertNoConnectionAndNoTokenCallAsync();
    }

    [Fact]
    public async Task Expired_state_is_refused_and_calls_nothing()
    {
        var (link, _) = await App.CreateLinkAsync("slow");
        var redirect = await stack.Emulator.ApproveAsync(await App.StartAsync(link));
        stack.Clock.Advance(TimeSpan.FromMinutes(11));

        var (status, page) = await App.CallbackAsync(redirect);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("This sign-in has expired", page);
        await AssertNoConnectionAndNoTokenCallAsync();
    }

    [Fact]
    public async Task Missing_code_is_refused_and_the_state_stays_usable()
    {
        var (link, _) = await App.CreateLinkAsync("nocode");
        var redirect = await stack.Emulator.ApproveAsync(await App.StartAsync(link));
        var state = System.Web.HttpUtility.ParseQueryString(redirect.Query)["state"];
        var consentsBefore = await stack.RowsAsync(StorageOptions.ConsentStatesTableName);

        var (status, page) = await App.CallbackAsync(new Uri(App.Host.BaseUri, $"api/callback?state={state}"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("This address is incomplete", page);
        await AssertNoConnectionAndNoTokenCallAsync();
        Assert.Equal(consentsBefore.Select(r => r.ETag), (await stack.RowsAsync(StorageOptions.ConsentStatesTableName)).Select(r => r.ETag));

        // Nothing was spent: the real callback still completes.
        Assert.Equal(HttpStatusCode.OK, (await App.CallbackAsync(redirect)).Status);
    }

    [Fact]
    public async Task Code_older_than_five_minutes_is_refused_by_FreshBooks_and_nothing_is_stored()
    {
        var (link, _) = await App.CreateLinkAsync("late");
        var redirect = await stack.Emulator.ApproveAsync(await App.StartAsync(link));
        stack.Clock.Advance(TimeSpan.FromMinutes(6));

        var (status, page) = await App.CallbackAsync(redirect);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("This sign-in took too long", page);
        Assert.Empty(await stack.ConnectionRowsAsync());
        Assert.Contains(stack.Emulator.Misuses, m => m.Kind == MisuseKind.ExpiredCode);
    }

    [Fact]
    public async Task Reused_state_gets_a_clear_page_and_leaves_the_connection_intact()
    {
        var (link, connectionId) = await App.CreateLinkAsync("twice");
        var redirect = await stack.Emulator.ApproveAsync(await App.StartAsync(link));
        Assert.Equal(HttpStatusCode.OK, (await App.CallbackAsync(redirect)).Status);
        var stored = Assert.Single(await stack.ConnectionRowsAsync());

        var (status, page) = await App.CallbackAsync(redirect);

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("FreshBooks is already connected", page);
        Assert.Equal(stored.ETag, Assert.Single(await stack.ConnectionRowsAsync()).ETag);
        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);
        var token = await App.GetJsonAsync($"api/connections/{connectionId}/token");
        Assert.True(stack.Emulator.IsAccessTokenValid(token.GetProperty("accessToken").GetString()!));
    }

    [Fact]
    public async Task Callback_without_the_browser_cookie_is_refused_and_writes_nothing()
    {
        var (link, _) = await App.CreateLinkAsync("csrf");
        var redirect = await stack.Emulator.ApproveAsync(await App.StartAsync(link));
        var consentsBefore = await stack.RowsAsync(StorageOptions.ConsentStatesTableName);

        // The attacker's code and state, opened in the victim's browser (which never started this consent).
        using var otherBrowser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var response = await otherBrowser.GetAsync(redirect);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("Please finish in the same browser", await response.Content.ReadAsStringAsync());
        await AssertNoConnectionAndNoTokenCallAsync();
        Assert.Equal(consentsBefore.Select(r => r.ETag), (await stack.RowsAsync(StorageOptions.ConsentStatesTableName)).Select(r => r.ETag));
    }

    [Fact]
    public async Task Wrong_client_secret_gives_a_clear_page_and_stores_nothing()
    {
        var misconfigured = await stack.StartAppAsync(s => s["FreshBooks:ClientSecret"] = "not-the-secret");
        var (status, page, _) = await misconfigured.ConnectAsync("misconfigured");

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains("FreshBooks refused this app", page);
        Assert.Empty(await stack.ConnectionRowsAsync());
        Assert.Contains(stack.Emulator.Misuses, m => m.Kind == MisuseKind.WrongClientSecret);
    }

    [Fact]
    public async Task FreshBooks_down_during_the_exchange_gives_503_and_stores_nothing()
    {
        stack.Emulator.Faults.EnqueueToken(TokenFault.ServerError);
        var (status, page, _) = await App.ConnectAsync("outage");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("FreshBooks is not answering", page);
        Assert.Empty(await stack.ConnectionRowsAsync());
        Assert.Empty(await stack.RowsAsync(StorageOptions.RenewalIndexTableName));
    }

    [Fact]
    public async Task Reconnecting_a_tenant_by_the_same_identity_replaces_the_grant_without_any_flag()
    {
        var (_, _, connectionId) = await App.ConnectAsync("same");
        var first = await App.GetJsonAsync($"api/connections/{connectionId}/token");

        var (status, page, _) = await App.ConnectAsync("same");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("FreshBooks is connected", page);
        Assert.Equal(2, Assert.Single(await stack.ConnectionRowsAsync()).GetInt64("TokenGeneration"));
        Assert.False(stack.Emulator.IsAccessTokenValid(first.GetProperty("accessToken").GetString()!), "the replaced grant is revoked");
    }

    [Fact]
    public async Task Reconnecting_a_tenant_by_another_identity_is_refused_with_a_page_and_changes_nothing()
    {
        var (_, _, connectionId) = await App.ConnectAsync("pinned");
        var first = await App.GetJsonAsync($"api/connections/{connectionId}/token");
        var row = Assert.Single(await stack.ConnectionRowsAsync());
        var grants = stack.Emulator.LiveGrantCount;

        var (link, _) = await App.CreateLinkAsync("pinned", ConnectStack.ReturnUrlPrefix + "fb");
        var (status, page) = await App.CallbackAsync(await stack.Emulator.ApproveAsync(await App.StartAsync(link), ConnectStack.SecondUser.Id));

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("This is a different FreshBooks account", page);
        Assert.Contains($"href=\"{ConnectStack.ReturnUrlPrefix}fb\"", page);
        Assert.DoesNotContain("grace", page, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(row.ETag, Assert.Single(await stack.ConnectionRowsAsync()).ETag);
        Assert.True(stack.Emulator.IsAccessTokenValid(first.GetProperty("accessToken").GetString()!), "the stored grant stays live");
        Assert.Equal(grants, stack.Emulator.LiveGrantCount);
        var token = await App.GetJsonAsync($"api/connections/{connectionId}/token");
        Assert.Equal(first.GetProperty("accessToken").GetString(), token.GetProperty("accessToken").GetString());

        // The refused consent did not spend the link: the connection's own identity still completes it.
        var (again, _) = await App.CallbackAsync(await stack.Emulator.ApproveAsync(await App.StartAsync(link)));
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.Equal(2, Assert.Single(await stack.ConnectionRowsAsync()).GetInt64("TokenGeneration"));
    }

    [Fact]
    public async Task Reconnecting_a_tenant_by_another_identity_through_a_link_that_allows_it_replaces_the_grant_of_the_same_connection()
    {
        var (_, _, connectionId) = await App.ConnectAsync("again");
        var first = await App.GetJsonAsync($"api/connections/{connectionId}/token");

        var (status, page, sameId) = await App.ConnectAsync("again", ConnectStack.SecondUser.Id, allowIdentityChange: true);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Grace Hopper (grace@example.com) connected Compilers &amp; Co. and Nanosecond Wire Works to account “again”.", page);
        Assert.Equal(connectionId, sameId);
        var row = Assert.Single(await stack.ConnectionRowsAsync());
        Assert.Equal(2, row.GetInt64("TokenGeneration"));
        var second = await App.GetJsonAsync($"api/connections/{connectionId}/token");
        Assert.True(stack.Emulator.IsAccessTokenValid(second.GetProperty("accessToken").GetString()!));
        Assert.False(stack.Emulator.IsAccessTokenValid(first.GetProperty("accessToken").GetString()!), "the replaced grant is revoked");
        Assert.Equal(2, second.GetProperty("businesses").GetArrayLength());
    }

    [Fact]
    public async Task Anonymous_onboarding_when_allowed_keys_the_connection_by_FreshBooks_identity()
    {
        var open = await stack.StartAppAsync(s => s["Onboarding:AllowAnonymous"] = "true");
        for (var i = 0; i < 2; i++)
        {
            var consent = await open.StartAsync("api/connect");
            var (status, _) = await open.CallbackAsync(await stack.Emulator.ApproveAsync(consent));
            Assert.Equal(HttpStatusCode.OK, status);
        }

        var row = Assert.Single(await stack.ConnectionRowsAsync());
        Assert.Equal($"fb-{EmulatedUser.Default.Id}", row.PartitionKey);
        Assert.Equal(2, row.GetInt64("TokenGeneration"));
    }

    [Fact]
    public async Task Start_without_a_link_is_refused_unless_anonymous_onboarding_is_allowed()
    {
        using var response = await App.Browser.GetAsync("api/connect");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("This link is incomplete", await response.Content.ReadAsStringAsync());
        Assert.Empty(await stack.RowsAsync(StorageOptions.ConsentStatesTableName));
    }

    [Fact]
    public async Task Two_consents_for_one_tenant_at_once_both_land_on_one_connection_and_one_live_grant()
    {
        var browsers = new[] { App, await stack.StartAppAsync() };
        var grantsBefore = stack.Emulator.LiveGrantCount;
        var links = await Task.WhenAll(browsers.Select(b => b.CreateLinkAsync("race")));
        var redirects = await Task.WhenAll(browsers.Select(async (b, i) => await stack.Emulator.ApproveAsync(await b.StartAsync(links[i].Url))));

        var results = await Task.WhenAll(browsers.Select((b, i) => b.CallbackAsync(redirects[i])));

        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        var row = Assert.Single(await stack.ConnectionRowsAsync());
        Assert.Equal(2, row.GetInt64("TokenGeneration"));
        Assert.Equal(grantsBefore + 1, stack.Emulator.LiveGrantCount);
        Assert.Single(await stack.RowsAsync(StorageOptions.RenewalIndexTableName));
    }

    private async Task AssertNoConnectionAndNoTokenCallAsync()
    {
        Assert.Empty(await stack.ConnectionRowsAsync());
        Assert.Empty(await stack.RowsAsync(StorageOptions.RenewalIndexTableName));
        Assert.DoesNotContain(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);
    }
}
