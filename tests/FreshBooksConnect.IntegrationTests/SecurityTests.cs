using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Web;
using Azure;
using Azure.Data.Tables;
using FreshBooks.Emulator;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// The security promises of issue 4: signed links, browser-bound consents, encrypted tokens with key rotation, no secret in
/// any log line, and the headers and keys every route insists on.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class SecurityTests(ConnectStack stack) : IAsyncLifetime
{
    private AppInstance App => stack.App;

    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    // ---- 1. Onboarding links ----------------------------------------------------------------------------------------

    [Fact]
    public async Task Forged_altered_foreign_and_expired_links_are_refused_with_a_page_and_start_nothing()
    {
        var (url, _) = await App.CreateLinkAsync("acme", ConnectStack.ReturnUrlPrefix + "home");
        var genuine = Probe.LinkToken(url);
        var (payload, signature) = Probe.SplitLink(genuine);

        // The signature changed (one character, not the last: its low bits are padding).
        var forged = $"{payload}.{Probe.ChangeChar(signature, 0)}";

        // The payload changed: another tenant, the genuine signature.
        var claims = JsonNode.Parse(Base64Url.DecodeFromChars(payload))!;
        Assert.Equal("acme", claims["t"]!.GetValue<string>());
        claims["t"] = "globex";
        var altered = $"{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(claims.ToJsonString()))}.{signature}";

        // Signed by another deployment (another Onboarding:SigningKey).
        var other = await stack.StartAppAsync(s => s["Onboarding:SigningKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var foreign = Probe.LinkToken((await other.CreateLinkAsync("acme")).Url);

        foreach (var (what, link) in new[] { ("forged", forged), ("altered", altered), ("foreign", foreign) })
        {
            await AssertStartRefusedAsync(link, HttpStatusCode.Forbidden, "This link is not valid", what);
        }

        // Past its 7 days. (Expired is only reported once the signature checked out: the link was genuine.)
        stack.Clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));
        await AssertStartRefusedAsync(genuine, HttpStatusCode.Gone, "This link has expired", "expired");
    }

    [Fact]
    public async Task Links_signed_with_an_out_of_range_or_too_distant_expiry_are_refused_with_a_page_and_start_nothing()
    {
        foreach (var exp in new[] { long.MaxValue, long.MinValue, 253402300800L, -62135596801L, stack.Clock.GetUtcNow().AddDays(30).ToUnixTimeSeconds() })
        {
            var link = Probe.SignLink(stack.SigningKey, $"{{\"t\":\"acme\",\"i\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"exp\":{exp}}}");
            await AssertStartRefusedAsync(link, HttpStatusCode.Forbidden, "This link is not valid", $"exp {exp}");
        }
    }

    [Fact]
    public async Task A_signed_link_whose_return_url_is_not_allowed_is_refused_at_Start()
    {
        // What an older version's prefix match, or an allow-list that has since narrowed, let through at link creation.
        foreach (var returnUrl in new[]
        {
            "https://saas.example/settingsEVIL",
            "https://saas.example/settings/..%2fadmin",
            "https://saas.example/settings/%2e%2e/admin",
            "https://saas.example/settings/a%5c..%5cadmin",
            "javascript:alert(1)//https://saas.example/settings/",
            "https://evil.example/settings/",
        })
        {
            var link = Probe.SignLink(stack.SigningKey, JsonSerializer.Serialize(new { t = "acme", r = returnUrl, i = "AAAAAAAAAAAAAAAAAAAAAA", exp = stack.Clock.GetUtcNow().AddMinutes(30).ToUnixTimeSeconds() }));
            await AssertStartRefusedAsync(link, HttpStatusCode.Forbidden, "This link is not valid", returnUrl);
        }
    }

    [Fact]
    public async Task Start_over_its_rate_from_one_client_address_gets_a_429_page_and_writes_nothing_while_other_addresses_go_on()
    {
        // Opening the page and pressing its button are one Start each: two consents started fill a limit of 4.
        var app = await stack.StartAppAsync(s => s["Onboarding:StartsPerMinute"] = "4");
        var (url, _) = await app.CreateLinkAsync("busy");
        using var browser = new Browser(app);
        var (page, html) = await ConfirmPage.OpenAsync(browser.Client, url);
        using (var started = await ConfirmPage.PressAsync(browser.Client, page, html))
        {
            Assert.Equal(HttpStatusCode.Found, started.StatusCode);
        }

        (page, html) = await ConfirmPage.OpenAsync(browser.Client, url);
        using (var startedAgain = await ConfirmPage.PressAsync(browser.Client, page, html))
        {
            Assert.Equal(HttpStatusCode.Found, startedAgain.StatusCode);
        }

        var rows = await stack.RowsAsync(StorageOptions.ConsentStatesTableName);
        var refusals = new List<HttpResponseMessage>();
        try
        {
            // Whatever it asks for, a valid link or garbage, the page or its button: refused before any work.
            foreach (var path in new[] { url, "api/connect?link=garbage", "api/connect" })
            {
                refusals.Add(await browser.Client.GetAsync(path));
            }

            refusals.Add(await ConfirmPage.PressAsync(browser.Client, page, html));
            foreach (var refused in refusals)
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
                Assert.Contains("Too many attempts", await refused.Content.ReadAsStringAsync());
                Assert.Equal("60", refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Assert.False(refused.Headers.Contains("Set-Cookie"));
                Probe.AssertPageHeaders(refused);
            }
        }
        finally
        {
            refusals.ForEach(r => r.Dispose());
        }

        Assert.Equal(rows.Count, (await stack.RowsAsync(StorageOptions.ConsentStatesTableName)).Count);

        // Another client, as the front end reports it (the last X-Forwarded-For entry is the one it appended).
        using var other = new HttpRequestMessage(HttpMethod.Get, url) { Headers = { { "X-Forwarded-For", "127.0.0.1, 203.0.113.7:50123" } } };
        using var otherStarted = await browser.Client.SendAsync(other);
        Assert.Equal(HttpStatusCode.OK, otherStarted.StatusCode);
        Assert.Contains("Continue to FreshBooks", await otherStarted.Content.ReadAsStringAsync());
    }

    private async Task AssertStartRefusedAsync(string link, HttpStatusCode expected, string title, string what)
    {
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = App.Host.BaseUri };
        using var response = await browser.GetAsync("api/connect?link=" + Uri.EscapeDataString(link));
        var page = await response.Content.ReadAsStringAsync();

        Assert.True(expected == response.StatusCode, $"{what} link: expected {(int)expected}, got {(int)response.StatusCode}");
        Assert.Contains(title, page);
        Probe.AssertPageHeaders(response);
        Assert.False(response.Headers.Contains("Set-Cookie"), $"{what} link: a cookie was set");
        Assert.Empty(await stack.RowsAsync(StorageOptions.ConsentStatesTableName));
        Assert.Empty(stack.Emulator.Calls);
    }

    // ---- 2. The browser binding --------------------------------------------------------------------------------------

    [Fact]
    public async Task A_cookie_left_by_another_consent_in_the_same_browser_does_not_unlock_this_callback()
    {
        // The victim's browser started a consent of its own (and holds its cookie).
        using var victim = new Browser(App);
        await victim.StartAsync((await App.CreateLinkAsync("alpha")).Url);
        var alphaCookie = Assert.Single(victim.BindingCookies());

        // The attacker started another one and approved it: its redirect carries the attacker's code and state.
        using var attacker = new Browser(App);
        var redirect = await stack.Emulator.ApproveAsync(await attacker.StartAsync((await App.CreateLinkAsync("beta")).Url));
        var betaCookie = Assert.Single(attacker.BindingCookies());
        Assert.NotEqual(alphaCookie.Name, betaCookie.Name);
        var before = await Probe.SnapshotAsync(stack);

        // The victim opens the attacker's callback: its own cookie belongs to another consent.
        using var opened = await victim.Client.GetAsync(redirect);
        Assert.Equal(HttpStatusCode.Forbidden, opened.StatusCode);
        Assert.Contains("Please finish in the same browser", await opened.Content.ReadAsStringAsync());

        // Nor does alpha's binding value presented under beta's cookie name.
        using var renamed = new Browser(App);
        renamed.Cookies.Add(App.Host.BaseUri, new Cookie(betaCookie.Name, alphaCookie.Value, "/"));
        using var swapped = await renamed.Client.GetAsync(redirect);
        Assert.Equal(HttpStatusCode.Forbidden, swapped.StatusCode);

        Assert.Equal(before, await Probe.SnapshotAsync(stack));
        Assert.Empty(await stack.ConnectionRowsAsync());
        Assert.DoesNotContain(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);

        // Nothing was spent: the browser that started beta still finishes it.
        using var finished = await attacker.Client.GetAsync(redirect);
        Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
    }

    [Fact]
    public async Task A_used_expired_or_unknown_state_without_its_cookie_gets_one_answer_that_reveals_nothing()
    {
        // A consent that completed and one left to expire, both with a return URL, in the browser that started them.
        using var owner = new Browser(App);
        var completed = await stack.Emulator.ApproveAsync(await owner.StartAsync((await App.CreateLinkAsync("done", ConnectStack.ReturnUrlPrefix + "done")).Url));
        using (var finished = await owner.Client.GetAsync(completed))
        {
            Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        }

        var expired = await stack.Emulator.ApproveAsync(await owner.StartAsync((await App.CreateLinkAsync("slow", ConnectStack.ReturnUrlPrefix + "slow")).Url));
        stack.Clock.Advance(TimeSpan.FromMinutes(11));
        var unknown = new Uri(App.Host.BaseUri, $"api/callback?code=abc123&state={new string('A', 43)}");
        var before = await Probe.SnapshotAsync(stack);
        var calls = stack.Emulator.Calls.Count;

        // Whoever holds only the callback address (history, a log) learns neither that it completed nor where it leads.
        var answers = new List<string>();
        foreach (var (what, redirect) in new[] { ("completed", completed), ("expired", expired), ("unknown", unknown) })
        {
            using var stranger = new Browser(App);
            using var response = await stranger.Client.GetAsync(redirect);
            var page = await response.Content.ReadAsStringAsync();

            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{what} state: expected 403, got {(int)response.StatusCode}");
            Assert.Contains("Please finish in the same browser", page);
            Assert.DoesNotContain("saas.example", page);
            Assert.DoesNotContain("already", page, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("expired", page, StringComparison.OrdinalIgnoreCase);
            Assert.False(response.Headers.Contains("Set-Cookie"), $"{what} state: a cookie was set");
            answers.Add(page);
        }

        Assert.Single(answers.Distinct(StringComparer.Ordinal));
        Assert.Equal(before, await Probe.SnapshotAsync(stack));
        Assert.Equal(calls, stack.Emulator.Calls.Count);

        // The browser that started them is still told what happened, with its way back.
        using var again = await owner.Client.GetAsync(completed);
        var againPage = await again.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("FreshBooks is already connected", againPage);
        Assert.Contains($"href=\"{ConnectStack.ReturnUrlPrefix}done\"", againPage);
        using var late = await owner.Client.GetAsync(expired);
        var latePage = await late.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, late.StatusCode);
        Assert.Contains("This sign-in has expired", latePage);
        Assert.Contains($"href=\"{ConnectStack.ReturnUrlPrefix}slow\"", latePage);
    }

    // ---- 3. The cookie Start sets ------------------------------------------------------------------------------------

    [Fact]
    public async Task Start_sets_a_ten_minute_HttpOnly_SameSite_Lax_cookie_named_fbc_over_http_on_localhost()
    {
        var cookie = await SetCookieOfStartAsync(App);

        Assert.Matches("^fbc-[0-9a-f]{16}=[A-Za-z0-9_-]{43}$", cookie.NameValue);
        Assert.Contains("httponly", cookie.Attributes);
        Assert.Contains("samesite=lax", cookie.Attributes);
        Assert.Contains("path=/", cookie.Attributes);
        Assert.Contains("max-age=600", cookie.Attributes);
        Assert.DoesNotContain(cookie.Attributes, a => a.StartsWith("domain", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_behind_an_https_redirect_uri_sets_a_Host_prefixed_Secure_cookie()
    {
        var https = await stack.StartAppAsync(s => s["FreshBooks:RedirectUri"] = "https://connect.example/api/callback");

        var cookie = await SetCookieOfStartAsync(https);

        Assert.Matches("^__Host-fbc-[0-9a-f]{16}=[A-Za-z0-9_-]{43}$", cookie.NameValue);
        Assert.Contains("secure", cookie.Attributes);
        Assert.Contains("httponly", cookie.Attributes);
        Assert.Contains("samesite=lax", cookie.Attributes);
        Assert.Contains("path=/", cookie.Attributes);
        Assert.Contains("max-age=600", cookie.Attributes);
        Assert.DoesNotContain(cookie.Attributes, a => a.StartsWith("domain", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_app_served_over_https_sends_HSTS_on_pages_redirects_and_API_answers_and_a_plain_http_one_does_not()
    {
        var https = await stack.StartAppAsync(s => s["FreshBooks:RedirectUri"] = "https://connect.example/api/callback");
        using var plain = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = App.Host.BaseUri };

        foreach (var (app, expected) in new[] { (https, true), (App, false) })
        {
            var (url, id) = await app.CreateLinkAsync("hsts");
            using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = app.Host.BaseUri };
            using var start = await browser.GetAsync(new Uri(url).PathAndQuery.TrimStart('/'));
            using var redirect = await ConfirmPage.PressAsync(browser, start.RequestMessage!.RequestUri!, await start.Content.ReadAsStringAsync(), r => r.Headers.Add("Cookie", ConfirmPage.ConfirmCookie(start)));
            Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
            using var page = await browser.GetAsync("api/connect?link=broken");
            using var api = await app.Api.GetAsync($"api/connections/{id}");
            foreach (var response in new[] { start, redirect, page, api })
            {
                Assert.True(
                    expected == response.Headers.TryGetValues("Strict-Transport-Security", out var values),
                    $"{response.RequestMessage!.RequestUri!.AbsolutePath} ({(int)response.StatusCode}): HSTS expected {expected}");
                if (expected)
                {
                    Assert.Equal("max-age=31536000", Assert.Single(values!));
                }
            }
        }

        // Behind a TLS-ending front end, the forwarded scheme says how the request came.
        using var forwarded = new HttpRequestMessage(HttpMethod.Get, "api/connect?link=broken") { Headers = { { "X-Forwarded-Proto", "https" } } };
        using var answer = await plain.SendAsync(forwarded);
        Assert.True(answer.Headers.Contains("Strict-Transport-Security"));
    }

    [Theory]
    [InlineData("FreshBooks:ApiUrl", "http://api.freshbooks.example", "FreshBooks__ApiUrl must be an absolute https URL")]
    [InlineData("FreshBooks:AuthUrl", "http://auth.freshbooks.example/oauth/authorize/", "FreshBooks__AuthUrl must be an absolute https URL")]
    [InlineData("FreshBooks:ApiUrl", "ftp://127.0.0.1/", "FreshBooks__ApiUrl must be an absolute https URL")]
    [InlineData("Onboarding:LinkLifetime", "7.00:00:01", "Onboarding__LinkLifetime must be between 0 and 7 days")]
    [InlineData("Onboarding:LinkLifetime", "90.00:00:00", "Onboarding__LinkLifetime must be between 0 and 7 days")]
    public async Task A_setting_that_would_weaken_onboarding_stops_the_app_at_start_up_naming_it(string setting, string value, string message)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => stack.StartAppAsync(s => s[setting] = value));

        Assert.Contains(message, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_http_FreshBooks_URLs_on_loopback_and_a_seven_day_link_lifetime_are_accepted()
    {
        var app = await stack.StartAppAsync(s =>
        {
            s["FreshBooks:AuthUrl"] = s["FreshBooks:AuthUrl"]!.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
            s["Onboarding:LinkLifetime"] = "7.00:00:00";
        });

        using var response = await app.Api.PostAsJsonAsync("api/onboarding-links", new { tenantId = "week" });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var expected = stack.Clock.GetUtcNow().AddDays(7);
        Assert.InRange(body.GetProperty("expiresAt").GetDateTimeOffset(), expected.AddSeconds(-5), expected.AddSeconds(1));
    }

    private static async Task<(string NameValue, string[] Attributes)> SetCookieOfStartAsync(AppInstance app)
    {
        var (url, _) = await app.CreateLinkAsync("cookie");
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = app.Host.BaseUri };
        using var page = await client.GetAsync(new Uri(url).PathAndQuery.TrimStart('/'));
        using var response = await ConfirmPage.PressAsync(client, page.RequestMessage!.RequestUri!, await page.Content.ReadAsStringAsync(), r => r.Headers.Add("Cookie", ConfirmPage.ConfirmCookie(page)));
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var header = Assert.Single(response.Headers.GetValues("Set-Cookie"), h => !h.Contains("fbc-confirm-", StringComparison.Ordinal));
        var parts = header.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return (parts[0], parts[1..].Select(p => p.ToLowerInvariant()).ToArray());
    }

    // ---- 4. Tokens at rest -------------------------------------------------------------------------------------------

    [Fact]
    public async Task The_connections_table_holds_no_token_in_clear_text_only_versioned_ciphertext()
    {
        var secrets = new List<string>();
        foreach (var tenant in new[] { "alpha", "beta" })
        {
            var (_, _, id) = await App.ConnectAsync(tenant);
            var answered = (await App.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!;
            var stored = await RenewalDriver.ConnectionAsync(App, id);
            Assert.Equal(stored.AccessToken, answered);
            secrets.Add(stored.AccessToken);
            secrets.Add(stored.RefreshToken);
        }

        var rows = await stack.RowsAsync(StorageOptions.ConnectionsTableName);
        Assert.Equal(2, rows.Count(r => r.RowKey == r.PartitionKey));
        foreach (var row in rows)
        {
            foreach (var (column, value) in row)
            {
                var text = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                Assert.False(secrets.Any(s => text.Contains(s, StringComparison.OrdinalIgnoreCase)), $"a token in clear text in {row.PartitionKey}.{column}");
            }

            if (row.RowKey == row.PartitionKey)
            {
                Assert.Matches(@"^v2\.k1\.[A-Za-z0-9_-]{40,}$", row.GetString("AccessToken"));
                Assert.Matches(@"^v2\.k1\.[A-Za-z0-9_-]{40,}$", row.GetString("RefreshToken"));
            }
        }
    }

    [Fact]
    public async Task A_token_ciphertext_copied_to_another_row_does_not_decrypt_and_is_never_served()
    {
        var (_, _, alpha) = await App.ConnectAsync("alpha");
        var (_, _, beta) = await App.ConnectAsync("beta");
        var alphaToken = (await RenewalDriver.ConnectionAsync(App, alpha)).AccessToken;
        var betaToken = (await RenewalDriver.ConnectionAsync(App, beta)).AccessToken;
        var table = stack.Tables.GetTableClient(StorageOptions.ConnectionsTableName);
        var alphaRow = (await table.GetEntityAsync<TableEntity>(alpha, alpha)).Value;

        // Someone with write access to the table copies alpha's encrypted access token onto beta's row.
        await table.UpdateEntityAsync(new TableEntity(beta, beta) { ["AccessToken"] = alphaRow.GetString("AccessToken") }, ETag.All, TableUpdateMode.Merge);
        stack.Emulator.ResetLog();
        var tampered = await Probe.SnapshotAsync(stack);
        var tamperedRow = (await stack.ConnectionRowsAsync()).Single(r => r.PartitionKey == beta);

        using var response = await App.Api.GetAsync($"api/connections/{beta}/token");
        var body = await response.Content.ReadAsStringAsync();

        // The product refuses to serve it: TableConnectionStore throws, the host answers a detail-free 500.
        Assert.True((int)response.StatusCode >= 500, $"expected a server error, got {(int)response.StatusCode}: {body}");
        Assert.DoesNotContain(alphaToken, body);
        Assert.DoesNotContain(betaToken, body);
        Assert.DoesNotContain("v2.k1.", body);
        Assert.DoesNotContain("Exception", body);

        // Nothing was refreshed or revoked with it, and its tokens were not rewritten: the one write is the report of it.
        Assert.Empty(stack.Emulator.Calls);
        await Probe.AssertOnlyUnreadableReportedAsync(stack, tampered, tamperedRow);

        // The row it came from is unaffected.
        var stillAlpha = await App.GetJsonAsync($"api/connections/{alpha}/token");
        Assert.Equal(alphaToken, stillAlpha.GetProperty("accessToken").GetString());
    }

    [Fact]
    public async Task Access_and_refresh_ciphertexts_swapped_in_a_row_do_not_decrypt_and_are_never_served()
    {
        var (_, _, id) = await App.ConnectAsync("swapped");
        var stored = await RenewalDriver.ConnectionAsync(App, id);
        var table = stack.Tables.GetTableClient(StorageOptions.ConnectionsTableName);
        var row = (await table.GetEntityAsync<TableEntity>(id, id)).Value;

        // Someone with write access to the table swaps the two encrypted tokens of one row.
        await table.UpdateEntityAsync(new TableEntity(id, id) { ["AccessToken"] = row.GetString("RefreshToken"), ["RefreshToken"] = row.GetString("AccessToken") }, ETag.All, TableUpdateMode.Merge);

        await AssertUnreadableAndNotServedAsync(id, stored);
    }

    [Fact]
    public async Task A_row_put_back_to_an_earlier_pairs_ciphertexts_does_not_decrypt_and_is_never_served()
    {
        var (_, _, id) = await App.ConnectAsync("rolledback");
        var table = stack.Tables.GetTableClient(StorageOptions.ConnectionsTableName);
        var first = (await table.GetEntityAsync<TableEntity>(id, id)).Value;
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        Assert.Equal(1, await RenewalDriver.SweepAndRenewAsync(stack, App));
        var renewed = await RenewalDriver.ConnectionAsync(App, id);
        Assert.Equal(2, renewed.TokenGeneration);

        // The first pair's ciphertexts put back into the row, its generation left as it is.
        await table.UpdateEntityAsync(new TableEntity(id, id) { ["AccessToken"] = first.GetString("AccessToken"), ["RefreshToken"] = first.GetString("RefreshToken") }, ETag.All, TableUpdateMode.Merge);

        await AssertUnreadableAndNotServedAsync(id, renewed);
    }

    private async Task AssertUnreadableAndNotServedAsync(string id, FreshBooksConnect.Connections.Connection before)
    {
        stack.Emulator.ResetLog();
        var tampered = await Probe.SnapshotAsync(stack);
        var tamperedRow = (await stack.ConnectionRowsAsync()).Single(r => r.PartitionKey == id);

        using var response = await App.Api.GetAsync($"api/connections/{id}/token");
        var body = await response.Content.ReadAsStringAsync();

        Assert.True((int)response.StatusCode >= 500, $"expected a server error, got {(int)response.StatusCode}: {body}");
        Assert.DoesNotContain(before.AccessToken, body);
        Assert.DoesNotContain(before.RefreshToken, body);
        Assert.Empty(stack.Emulator.Calls);
        await Probe.AssertOnlyUnreadableReportedAsync(stack, tampered, tamperedRow);
        Assert.False((await App.GetJsonAsync($"api/connections/{id}")).GetProperty("tokensReadable").GetBoolean());
    }

    [Fact]
    public async Task One_row_under_a_removed_key_does_not_break_listing_the_other_connections()
    {
        // alpha is written under k2 by an app that already rotated; beta under k1 (it stopped renewing, say).
        var k2 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var rotated = await stack.StartAppAsync(s =>
        {
            s["TokenProtection:Keys:k2"] = k2;
            s["TokenProtection:CurrentKeyId"] = "k2";
        });
        var (_, _, alpha) = await rotated.ConnectAsync("alpha");
        var (_, _, beta) = await App.ConnectAsync("beta");

        // k1 removed.
        var onlyK2 = await stack.StartAppAsync(
            s =>
            {
                s.Remove("TokenProtection:Keys:k1");
                s["TokenProtection:Keys:k2"] = k2;
                s["TokenProtection:CurrentKeyId"] = "k2";
            },
            instanceOf: App);

        var list = await onlyK2.GetJsonAsync("api/connections");
        var ids = list.GetProperty("connections").EnumerateArray().Select(c => c.GetProperty("id").GetString()).ToList();
        Assert.Contains(alpha, ids);
        Assert.DoesNotContain((await RenewalDriver.ConnectionAsync(App, beta)).AccessToken, list.GetRawText());
    }

    [Fact]
    public async Task Listing_connections_selects_no_token_column_and_still_lists_a_row_whose_tokens_cannot_be_read()
    {
        var (_, _, readable) = await App.ConnectAsync("listed");
        var (_, _, garbled) = await App.ConnectAsync("garbled");
        var table = stack.Tables.GetTableClient(StorageOptions.ConnectionsTableName);
        await table.UpdateEntityAsync(new TableEntity(garbled, garbled) { ["AccessToken"] = "v1.k1.garbled", ["RefreshToken"] = "not a ciphertext" }, ETag.All, TableUpdateMode.Merge);
        var single = await App.GetJsonAsync($"api/connections/{readable}");
        var counter = new TableReadCounter();
        var counted = await stack.StartAppAsync(services: counter.AddTo, instanceOf: App);

        var list = await counted.GetJsonAsync("api/connections");

        var query = Assert.Single(counter.Queries(StorageOptions.ConnectionsTableName));
        var columns = (HttpUtility.ParseQueryString(query.Query)["$select"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("Status", columns);
        Assert.DoesNotContain("AccessToken", columns);
        Assert.DoesNotContain("RefreshToken", columns);
        var listed = list.GetProperty("connections").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!);
        Assert.Equal(single.GetRawText(), listed[readable].GetRawText());
        Assert.Equal(garbled, listed[garbled].GetProperty("id").GetString());
        Assert.DoesNotContain("v1.k1.garbled", list.GetRawText());
    }

    // ---- 5. Key rotation ---------------------------------------------------------------------------------------------

    [Fact]
    public async Task After_rotating_to_k2_old_rows_still_read_the_next_renewal_re_encrypts_them_and_a_k2_only_app_cannot_read_k1_rows()
    {
        var (_, _, id) = await App.ConnectAsync("rotate");
        var written = Assert.Single(await stack.ConnectionRowsAsync());
        Assert.StartsWith("v2.k1.", written.GetString("AccessToken"));
        Assert.StartsWith("v2.k1.", written.GetString("RefreshToken"));

        var k2 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var rotated = await stack.StartAppAsync(
            s =>
            {
                s["TokenProtection:Keys:k2"] = k2;
                s["TokenProtection:CurrentKeyId"] = "k2";
            },
            instanceOf: App);

        // The old row still reads with k1 listed, and reading it does not rewrite it.
        var first = (await rotated.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!;
        Assert.True(stack.Emulator.IsAccessTokenValid(first));
        Assert.Equal(written.ETag, Assert.Single(await stack.ConnectionRowsAsync()).ETag);

        // A connection made now by a k1 app: not due for renewal, so it stays under k1.
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        var (_, _, legacy) = await App.ConnectAsync("legacy");

        // The next write (the renewal) re-encrypts with k2.
        Assert.Equal(1, await RenewalDriver.SweepAndRenewAsync(stack, rotated));
        var rows = await stack.ConnectionRowsAsync();
        var renewed = rows.Single(r => r.PartitionKey == id);
        Assert.Equal(2, renewed.GetInt64("TokenGeneration"));
        Assert.StartsWith("v2.k2.", renewed.GetString("AccessToken"));
        Assert.StartsWith("v2.k2.", renewed.GetString("RefreshToken"));
        Assert.StartsWith("v2.k1.", rows.Single(r => r.PartitionKey == legacy).GetString("AccessToken"));

        // An app that knows only k2 reads the re-encrypted row, and refuses the k1 row without serving anything.
        var onlyK2 = await stack.StartAppAsync(
            s =>
            {
                s.Remove("TokenProtection:Keys:k1");
                s["TokenProtection:Keys:k2"] = k2;
                s["TokenProtection:CurrentKeyId"] = "k2";
            },
            instanceOf: App);
        var current = (await onlyK2.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!;
        Assert.NotEqual(first, current);
        Assert.True(stack.Emulator.IsAccessTokenValid(current));

        var legacyToken = (await RenewalDriver.ConnectionAsync(App, legacy)).AccessToken;
        stack.Emulator.ResetLog();
        var before = await Probe.SnapshotAsync(stack);
        var legacyRow = (await stack.ConnectionRowsAsync()).Single(r => r.PartitionKey == legacy);
        using var refused = await onlyK2.Api.GetAsync($"api/connections/{legacy}/token");
        var body = await refused.Content.ReadAsStringAsync();
        Assert.True((int)refused.StatusCode >= 500, $"expected a server error, got {(int)refused.StatusCode}: {body}");
        Assert.DoesNotContain(legacyToken, body);
        Assert.DoesNotContain("Exception", body);
        Assert.Empty(stack.Emulator.Calls);
        await Probe.AssertOnlyUnreadableReportedAsync(stack, before, legacyRow);
    }

    // ---- 6. Logs -----------------------------------------------------------------------------------------------------

    [Fact]
    public async Task No_token_code_state_link_cookie_key_or_client_secret_reaches_any_log_line_over_a_whole_lifecycle()
    {
        var capture = new CapturingLoggerProvider();

        // With PKCE, so its verifier is hunted for too.
        string? codeVerifier = null;
        var hooks = new FreshBooksHooks
        {
            BeforeExchange = v =>
            {
                codeVerifier = v;
                return Task.CompletedTask;
            },
        };
        var app = await stack.StartAppAsync(
            s => s["FreshBooks:UsePkce"] = "true",
            services: s =>
            {
                s.AddLogging(b => b.AddProvider(capture).SetMinimumLevel(LogLevel.Trace));
                hooks.AddTo(s);
            });
        var secrets = new Dictionary<string, string>
        {
            ["client secret"] = ConnectStack.ClientSecret,
            ["token encryption key"] = stack.EncryptionKey,
            ["link signing key"] = stack.SigningKey,
            ["function key"] = app.Host.FunctionKey,
            ["master key"] = app.Host.MasterKey,
        };

        // Onboarding: link, Start, Allow, Callback.
        var (url, id) = await app.CreateLinkAsync("logged", ConnectStack.ReturnUrlPrefix + "done");
        secrets["link token"] = Probe.LinkToken(url);
        secrets["link signature"] = Probe.SplitLink(secrets["link token"]).Signature;
        var consent = await app.StartAsync(url);
        secrets["browser binding"] = Assert.Single(app.Cookies.GetAllCookies(), c => c.Name.StartsWith("fbc-", StringComparison.Ordinal)).Value;
        var redirect = await stack.Emulator.ApproveAsync(consent);
        var query = HttpUtility.ParseQueryString(redirect.Query);
        secrets["authorization code"] = query["code"]!;
        secrets["state"] = query["state"]!;
        Assert.Equal(HttpStatusCode.OK, (await app.CallbackAsync(redirect)).Status);
        secrets["PKCE code verifier"] = Assert.IsType<string>(codeVerifier);
        AddTokens(secrets, "connect", await RenewalDriver.ConnectionAsync(app, id));

        // A renewal by the sweep and the queue.
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        Assert.Equal(1, await RenewalDriver.SweepAndRenewAsync(stack, app));
        var renewed = await RenewalDriver.ConnectionAsync(app, id);
        Assert.Equal(2, renewed.TokenGeneration);
        AddTokens(secrets, "renewal", renewed);

        // The token API, then a 401 reported by the SaaS backend.
        Assert.Equal(renewed.AccessToken, (await app.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString());
        using (var refreshed = await app.Api.PostAsJsonAsync($"api/connections/{id}/refresh", new { accessToken = renewed.AccessToken }))
        {
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        }

        var afterRefresh = await RenewalDriver.ConnectionAsync(app, id);
        Assert.Equal(3, afterRefresh.TokenGeneration);
        AddTokens(secrets, "401 refresh", afterRefresh);

        // Disconnect: revoke and delete.
        using (var deleted = await app.Api.DeleteAsync($"api/connections/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.False(stack.Emulator.IsAccessTokenValid(afterRefresh.AccessToken));

        var logs = capture.Logs;

        // The capture saw the whole flow: the product, the local host, the HTTP client to FreshBooks.
        Assert.Contains(logs, l => l.Category.StartsWith("FreshBooksConnect.Consent", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Category.StartsWith("FreshBooksConnect.Renewal", StringComparison.Ordinal) || l.Category.StartsWith("FreshBooksConnect.Connections", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Category.StartsWith("FreshBooksConnect.LocalHost", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Category.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Message.Contains("Functions.Callback", StringComparison.Ordinal));

        var leaks = (from log in logs
                     from secret in secrets
                     from form in Probe.Forms(secret.Value)
                     where log.Everything.Contains(form, StringComparison.Ordinal)
                     select $"{secret.Key} in {log}").Distinct().ToList();
        Assert.True(leaks.Count == 0, "secrets in logs:\n" + string.Join('\n', leaks));
    }

    [Fact]
    public async Task Turning_up_request_logging_in_configuration_does_not_put_the_callback_code_state_or_link_token_in_logs()
    {
        // What an operator does to see requests: Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics=Information.
        var capture = new CapturingLoggerProvider();
        var app = await stack.StartAppAsync(
            configure: s => s["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information",
            services: s => s.AddLogging(b => b.AddProvider(capture).SetMinimumLevel(LogLevel.Trace)));

        var (url, _) = await app.CreateLinkAsync("verbose");
        var redirect = await stack.Emulator.ApproveAsync(await app.StartAsync(url));
        Assert.Equal(HttpStatusCode.OK, (await app.CallbackAsync(redirect)).Status);

        var query = HttpUtility.ParseQueryString(redirect.Query);
        var secrets = new Dictionary<string, string>
        {
            ["link token"] = Probe.LinkToken(url),
            ["authorization code"] = query["code"]!,
            ["state"] = query["state"]!,
        };
        var leaks = (from log in capture.Logs
                     from secret in secrets
                     where log.Everything.Contains(secret.Value, StringComparison.Ordinal)
                     select $"{secret.Key} in {log}").Distinct().ToList();
        Assert.True(leaks.Count == 0, "secrets in logs:\n" + string.Join('\n', leaks));
    }

    [Fact]
    public async Task An_error_outside_the_RFC_6749_character_set_never_reaches_a_log_line_and_the_consent_stays_usable()
    {
        var capture = new CapturingLoggerProvider();
        var app = await stack.StartAppAsync(services: s => s.AddLogging(b => b.AddProvider(capture).SetMinimumLevel(LogLevel.Trace)));
        var consent = await app.StartAsync((await app.CreateLinkAsync("crlf")).Url);
        var state = HttpUtility.ParseQueryString(consent.Query)["state"]!;

        foreach (var (error, description) in new (string Error, string? Description)[]
        {
            ("access_denied\r\n2026-11-30 FORGED Connection t-victim connected", null),
            ("access_denied\nFORGED", null),
            ("access_\"denied\"FORGED", null),
            ("access_denied\\FORGED", null),
            ("access_deniedé FORGED", null),
            ("access_denied", "ok\r\nFORGED line"),
            ("server_error", "\u0000FORGED"),
        })
        {
            var query = $"state={state}&error={Uri.EscapeDataString(error)}" + (description is null ? "" : $"&error_description={Uri.EscapeDataString(description)}");
            var (status, page) = await app.CallbackAsync(new Uri(app.Host.BaseUri, "api/callback?" + query));

            Assert.True(status == HttpStatusCode.BadRequest, $"{error}: expected 400, got {(int)status}");
            Assert.Contains("This address is incomplete", page);
            Assert.DoesNotContain("FORGED", page);
        }

        Assert.DoesNotContain(capture.Logs, l => l.Everything.Contains("FORGED", StringComparison.Ordinal));

        // Nothing was spent: the real answer still completes the consent.
        Assert.Equal(HttpStatusCode.OK, (await app.CallbackAsync(await stack.Emulator.ApproveAsync(consent))).Status);
    }

    private static void AddTokens(Dictionary<string, string> secrets, string when, Connections.Connection connection)
    {
        secrets[$"access token ({when})"] = connection.AccessToken;
        secrets[$"refresh token ({when})"] = connection.RefreshToken;
    }

    // ---- 7. HTTP hygiene ---------------------------------------------------------------------------------------------

    [Fact]
    public async Task Every_Start_and_Callback_page_carries_CSP_nosniff_no_referrer_and_no_store()
    {
        var pages = new List<(string What, HttpResponseMessage Response)>();
        using var browser = new Browser(App);
        async Task PageAsync(string what, Uri uri, HttpStatusCode expected, Browser? from = null)
        {
            var response = await (from ?? browser).Client.GetAsync(uri);
            Assert.True(expected == response.StatusCode, $"{what}: expected {(int)expected}, got {(int)response.StatusCode}");
            pages.Add((what, response));
        }

        Uri At(string relative) => new(App.Host.BaseUri, relative);

        try
        {
            // Start's refusals.
            await PageAsync("start without link", At("api/connect"), HttpStatusCode.BadRequest);
            await PageAsync("start with a broken link", At("api/connect?link=abc.def"), HttpStatusCode.Forbidden);
            await PageAsync("the page a link opens", new Uri((await App.CreateLinkAsync("pages-confirm")).Url), HttpStatusCode.OK);
            var notConfirmed = await browser.Client.PostAsync("api/connect", new FormUrlEncodedContent([]));
            pages.Add(("a press without the page's confirmation", notConfirmed));
            Assert.Equal(HttpStatusCode.Forbidden, notConfirmed.StatusCode);

            // Callback outcomes.
            await PageAsync("callback without anything", At("api/callback"), HttpStatusCode.BadRequest);
            await PageAsync("callback with unknown state", At($"api/callback?code=abc&state={new string('B', 43)}"), HttpStatusCode.Forbidden);

            var redirect = await stack.Emulator.ApproveAsync(await browser.StartAsync((await App.CreateLinkAsync("pages")).Url));
            using (var stranger = new Browser(App))
            {
                await PageAsync("callback from another browser", redirect, HttpStatusCode.Forbidden, stranger);
            }

            await PageAsync("connected", redirect, HttpStatusCode.OK);
            await PageAsync("already used", redirect, HttpStatusCode.Conflict);

            var declined = await browser.StartAsync((await App.CreateLinkAsync("pages-declined")).Url);
            await PageAsync("declined", stack.Emulator.Deny(declined), HttpStatusCode.OK);

            var failed = await browser.StartAsync((await App.CreateLinkAsync("pages-failed")).Url);
            var failedState = HttpUtility.ParseQueryString(failed.Query)["state"];
            await PageAsync("FreshBooks reported an error", At($"api/callback?error=server_error&state={failedState}"), HttpStatusCode.BadGateway);

            var (expiringLink, _) = await App.CreateLinkAsync("pages-expired");
            var slow = await stack.Emulator.ApproveAsync(await browser.StartAsync(expiringLink));
            stack.Clock.Advance(TimeSpan.FromMinutes(11));
            await PageAsync("expired state", slow, HttpStatusCode.BadRequest);

            stack.Clock.Advance(TimeSpan.FromDays(7));
            await PageAsync("expired link", new Uri(expiringLink), HttpStatusCode.Gone);

            foreach (var (what, response) in pages)
            {
                Probe.AssertPageHeaders(response, what);
            }
        }
        finally
        {
            foreach (var (_, response) in pages)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task Token_and_refresh_answers_and_their_problems_are_never_cached()
    {
        var (_, _, id) = await App.ConnectAsync("nocache");
        var token = (await App.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString();

        using var issued = await App.Api.GetAsync($"api/connections/{id}/token");
        using var refreshed = await App.Api.PostAsJsonAsync($"api/connections/{id}/refresh", new { accessToken = token });
        using var missing = await App.Api.GetAsync("api/connections/t-nobody/token");
        using var badBody = await App.Api.PostAsJsonAsync($"api/connections/{id}/refresh", new { });

        foreach (var (response, expected) in new[] { (issued, HttpStatusCode.OK), (refreshed, HttpStatusCode.OK), (missing, HttpStatusCode.NotFound), (badBody, HttpStatusCode.BadRequest) })
        {
            Assert.Equal(expected, response.StatusCode);
            Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        }
    }

    [Fact]
    public async Task Every_token_and_admin_route_refuses_a_missing_or_wrong_key_with_401_and_does_nothing()
    {
        var (_, _, id) = await App.ConnectAsync("locked");
        stack.Emulator.ResetLog();
        var before = await Probe.SnapshotAsync(stack);
        var routes = new (HttpMethod Method, string Path, bool Admin)[]
        {
            (HttpMethod.Get, "api/connections", false),
            (HttpMethod.Get, $"api/connections/{id}", false),
            (HttpMethod.Delete, $"api/connections/{id}", false),
            (HttpMethod.Get, $"api/connections/{id}/token", false),
            (HttpMethod.Post, $"api/connections/{id}/refresh", false),
            (HttpMethod.Post, "api/onboarding-links", false),
            (HttpMethod.Get, "admin/functions", true),
            (HttpMethod.Post, "admin/functions/RenewalSweep", true),
        };
        var keys = new (string What, string? Header, string? Query)[]
        {
            ("no key", null, null),
            ("empty key header", "", null),
            ("wrong key header", "not-the-key", null),
            ("wrong key query", null, "not-the-key"),
            ("key in another case", App.Host.FunctionKey.ToUpperInvariant(), null),
            ("key with a suffix", App.Host.FunctionKey + "x", null),
        };

        using var client = new HttpClient { BaseAddress = App.Host.BaseUri };
        var refusals = new List<(HttpMethod Method, string Path, string What, HttpStatusCode Status)>();
        foreach (var (method, path, admin) in routes)
        {
            var presented = admin ? keys.Append(("the function key on an admin route", App.Host.FunctionKey, null)) : keys;
            foreach (var (what, header, query) in presented)
            {
                using var request = new HttpRequestMessage(method, query is null ? path : $"{path}?code={query}");
                if (header is not null)
                {
                    request.Headers.TryAddWithoutValidation("x-functions-key", header);
                }

                if (method == HttpMethod.Post)
                {
                    request.Content = JsonContent.Create(new { tenantId = "intruder", accessToken = "x", input = "" });
                }

                using var response = await client.SendAsync(request);
                refusals.Add((method, path, what, response.StatusCode));
            }
        }

        Assert.All(refusals, r => Assert.True(r.Status == HttpStatusCode.Unauthorized, $"{r.Method} {r.Path} with {r.What}: {(int)r.Status}"));
        await Task.Delay(200); // an admin invocation would run in the background
        Assert.Equal(before, await Probe.SnapshotAsync(stack));
        Assert.Empty(stack.Emulator.Calls);
    }

    [Fact]
    public async Task An_app_whose_redirect_uri_is_plain_http_on_a_public_host_refuses_to_start_naming_the_setting()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => stack.StartAppAsync(s => s["FreshBooks:RedirectUri"] = "http://example.com/api/callback"));

        Assert.Contains("FreshBooks__RedirectUri", failure.Message);
    }
}

/// <summary>A browser of its own: its cookies, no redirects followed.</summary>
internal sealed class Browser : IDisposable
{
    public Browser(AppInstance app)
    {
        Client = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { BaseAddress = app.Host.BaseUri };
    }

    public CookieContainer Cookies { get; } = new();

    public HttpClient Client { get; }

    /// <summary>The cookies that bind a consent to this browser (not the confirm page's own).</summary>
    public IEnumerable<Cookie> BindingCookies() => Cookies.GetAllCookies().Where(c => c.Name.Contains("fbc-", StringComparison.Ordinal) && !c.Name.Contains("fbc-confirm-", StringComparison.Ordinal));

    /// <summary>Opens an onboarding link and continues from its page; returns FreshBooks' consent URL it was sent to.</summary>
    public Task<Uri> StartAsync(string link) => ConfirmPage.ContinueAsync(Client, link);

    public void Dispose() => Client.Dispose();
}

/// <summary>What the security and bad-input tests look at: link tokens, page headers, and everything storage and FreshBooks saw.</summary>
internal static class Probe
{
    public static string LinkToken(string url) => HttpUtility.ParseQueryString(new Uri(url).Query)["link"]!;

    /// <summary>A link token with these claims, signed with the deployment's key: what only the deployment itself can make.</summary>
    public static string SignLink(string signingKey, string claimsJson)
    {
        var payload = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(claimsJson));
        var mac = HMACSHA256.HashData(Convert.FromBase64String(signingKey), Encoding.ASCII.GetBytes("onboarding-link.v1." + payload));
        return $"{payload}.{Base64Url.EncodeToString(mac)}";
    }

    public static (string Payload, string Signature) SplitLink(string token)
    {
        var parts = token.Split('.');
        Assert.Equal(2, parts.Length);
        return (parts[0], parts[1]);
    }

    public static string ChangeChar(string value, int index) =>
        string.Concat(value.AsSpan(0, index), value[index] == 'A' ? "B" : "A", value.AsSpan(index + 1));

    /// <summary>The headers every page for the customer's browser must carry.</summary>
    public static void AssertPageHeaders(HttpResponseMessage response, string? what = null)
    {
        var because = what is null ? "" : what + ": ";
        Assert.True(response.Content.Headers.ContentType?.MediaType == "text/html", $"{because}content type {response.Content.Headers.ContentType}");
        Assert.True(response.Headers.TryGetValues("Content-Security-Policy", out var csp), $"{because}no CSP");
        Assert.Contains("default-src 'none'", string.Join(", ", csp));
        Assert.True(response.Headers.TryGetValues("X-Content-Type-Options", out var sniff) && sniff.Single() == "nosniff", $"{because}X-Content-Type-Options");
        Assert.True(response.Headers.TryGetValues("Referrer-Policy", out var referrer) && referrer.Single() == "no-referrer", $"{because}Referrer-Policy");
        Assert.True(response.Headers.CacheControl?.NoStore == true, $"{because}Cache-Control {response.Headers.CacheControl}");
    }

    /// <summary>
    /// Storage is as it was in <paramref name="before"/> except for the report of <paramref name="row"/>'s unreadable tokens: a merge
    /// of <c>UnreadableReportedAt</c> into the row (its token columns byte for byte the same) and one <c>connection.unreadable</c> event.
    /// </summary>
    public static async Task AssertOnlyUnreadableReportedAsync(ConnectStack stack, StorageSnapshot before, TableEntity row)
    {
        // The connection's own partition, and the reminder that brings its event to the receiver.
        bool Reported(string r) => r.StartsWith($"connections/{row.PartitionKey}/", StringComparison.Ordinal) || (r.StartsWith("events/due/", StringComparison.Ordinal) && r.Contains($"_{row.PartitionKey}/", StringComparison.Ordinal));
        var after = await SnapshotAsync(stack);
        Assert.Equal(before.Rows.Split('\n').Where(r => !Reported(r)), after.Rows.Split('\n').Where(r => !Reported(r)));
        var reported = (await stack.ConnectionRowsAsync()).Single(r => r.PartitionKey == row.PartitionKey);
        Assert.Equal(row.GetString("AccessToken"), reported.GetString("AccessToken"));
        Assert.Equal(row.GetString("RefreshToken"), reported.GetString("RefreshToken"));
        Assert.NotNull(reported.GetDateTimeOffset("UnreadableReportedAt"));
        Assert.Single(await stack.OutboxRowsAsync(), r => r.PartitionKey == row.PartitionKey && r.GetString("Type") == "connection.unreadable");
    }

    /// <summary>Every row of the product's tables (keys and ETags) and how many calls FreshBooks got.</summary>
    public static async Task<StorageSnapshot> SnapshotAsync(ConnectStack stack)
    {
        var rows = new List<string>();
        foreach (var table in new[] { StorageOptions.ConnectionsTableName, StorageOptions.ConsentStatesTableName, StorageOptions.RenewalIndexTableName, StorageOptions.EventsTableName })
        {
            rows.AddRange((await stack.RowsAsync(table)).Select(r => $"{table}/{r.PartitionKey}/{r.RowKey}/{r.ETag}"));
        }

        rows.Sort(StringComparer.Ordinal);
        return new StorageSnapshot(string.Join('\n', rows), stack.Emulator.Calls.Count);
    }

    /// <summary>A secret as it could appear in a log line: as is, URL-encoded, and (for base64 keys) base64url.</summary>
    public static IEnumerable<string> Forms(string secret)
    {
        yield return secret;
        var escaped = Uri.EscapeDataString(secret);
        if (escaped != secret)
        {
            yield return escaped;
        }

        var url = secret.TrimEnd('=').Replace('+', '-').Replace('/', '_');
        if (url != secret)
        {
            yield return url;
        }
    }
}

internal sealed record StorageSnapshot(string Rows, int EmulatorCalls)
{
    public override string ToString() => $"{EmulatorCalls} FreshBooks calls; rows:\n{Rows}";
}
