using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FreshBooks.Emulator;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// Issue 17, item 3: a link first opens a page that names the product and the tenant, and only its button (a same-site POST
/// carrying the page's confirmation) continues to FreshBooks; the success page names the tenant and the business connected.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class ConfirmPageTests(ConnectStack stack) : IAsyncLifetime
{
    private const string Product = "Ledger <Pro> & \"Friends\"";
    private const string Tenant = "Globex <b>Ltd</b> & 'Sons'";

    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    private Task<AppInstance> NamedAppAsync(Action<Dictionary<string, string?>>? configure = null) =>
        stack.StartAppAsync(s =>
        {
            s["Onboarding:ProductName"] = Product;
            configure?.Invoke(s);
        });

    [Fact]
    public async Task A_link_opens_a_page_naming_the_product_and_the_tenant_encoded_that_writes_nothing()
    {
        var app = await NamedAppAsync();
        var (link, _) = await app.CreateLinkAsync("globex", tenantName: Tenant);

        using var response = await app.Browser.GetAsync(link);
        var page = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(Encoded($"You'll be sent to FreshBooks to approve access for {Product} to your books."), page);
        Assert.Contains(Encoded($"Your FreshBooks account will be connected to “{Tenant}” in {Product}."), page);
        Assert.Contains(Encoded($"Continue only if “{Tenant}” in {Product} is yours."), page);
        Assert.Contains("<button class=\"button\" type=\"submit\">Continue to FreshBooks</button>", page);
        Assert.DoesNotContain("<b>Ltd</b>", page);
        Assert.DoesNotContain("<Pro>", page);
        Assert.Equal(["link", "confirmation"], ConfirmPage.Fields(page).Select(f => f.Key));
        Assert.Equal(Probe.LinkToken(link), ConfirmPage.Fields(page)[0].Value);

        // Its form may go to this app and on to FreshBooks' consent page, nowhere else.
        Probe.AssertPageHeaders(response);
        var csp = string.Join(", ", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains($"form-action 'self' {stack.Emulator.AuthorizeUri.GetLeftPart(UriPartial.Authority)};", csp);

        // The confirmation's cookie: only this app's own pages send it back.
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.Matches("^fbc-confirm-[0-9a-f]{16}=[A-Za-z0-9_-]{43};", cookie);
        Assert.Contains("samesite=strict", cookie.ToLowerInvariant());
        Assert.Contains("httponly", cookie.ToLowerInvariant());
        Assert.Equal(ConfirmPage.Fields(page)[1].Value, cookie.Split(';')[0].Split('=')[1]);

        Assert.Empty(await stack.RowsAsync(StorageOptions.ConsentStatesTableName));
        Assert.Empty(stack.Emulator.Calls);
    }

    [Fact]
    public async Task The_page_button_continues_to_FreshBooks_and_the_success_page_names_the_tenant_and_the_businesses()
    {
        var app = await NamedAppAsync();
        var (link, connectionId) = await app.CreateLinkAsync("globex", tenantName: Tenant);
        var (pageUri, html) = await ConfirmPage.OpenAsync(app.Browser, link);

        using var pressed = await ConfirmPage.PressAsync(app.Browser, pageUri, html);

        Assert.Equal(HttpStatusCode.Found, pressed.StatusCode);
        Assert.StartsWith(stack.Emulator.AuthorizeUri.AbsoluteUri, pressed.Headers.Location!.AbsoluteUri);
        var cookies = pressed.Headers.GetValues("Set-Cookie").ToList();
        Assert.Contains(cookies, c => c.StartsWith("fbc-", StringComparison.Ordinal) && !c.StartsWith("fbc-confirm-", StringComparison.Ordinal));
        Assert.Contains(cookies, c => c.StartsWith("fbc-confirm-", StringComparison.Ordinal) && c.Contains("expires=Thu, 01 Jan 1970", StringComparison.Ordinal));
        Assert.Single(await stack.RowsAsync(StorageOptions.ConsentStatesTableName));

        var (status, page) = await app.CallbackAsync(await stack.Emulator.ApproveAsync(pressed.Headers.Location!, ConnectStack.SecondUser.Id));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(
            $"Grace Hopper (grace@example.com) connected Compilers &amp; Co. and Nanosecond Wire Works to “{Encoded(Tenant)}” in {Encoded(Product)}.",
            page);
        Assert.Equal("active", (await app.GetJsonAsync($"api/connections/{connectionId}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Without_names_the_page_speaks_of_the_tenant_id_and_the_app_that_sent_the_link()
    {
        var (link, _) = await stack.App.CreateLinkAsync("plain-tenant");
        var (_, page) = await ConfirmPage.OpenAsync(stack.App.Browser, link);

        Assert.Contains("<h1>Connect FreshBooks</h1>", page);
        Assert.Contains("approve access for the app that sent you this link to your books. Your FreshBooks account will be connected to account “plain-tenant”.", page);
        Assert.Contains(Encoded("Continue only if account “plain-tenant” is yours. If you didn't expect this link, close this window: nothing has been shared."), page);

        var (status, connected) = await stack.App.CallbackAsync(await stack.Emulator.ApproveAsync(await stack.App.StartAsync(link)));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Ada Lovelace (ada@example.com) connected Analytical Engines Ltd. to account “plain-tenant”.", connected);
    }

    [Fact]
    public async Task A_press_from_another_site_or_without_the_page_cookie_is_refused_with_a_page_and_starts_nothing()
    {
        var app = await NamedAppAsync();
        var (link, _) = await app.CreateLinkAsync("victim", tenantName: "Victim Inc");
        var (pageUri, html) = await ConfirmPage.OpenAsync(app.Browser, link);
        var fields = ConfirmPage.Fields(html);

        // The attacker's own page and confirmation, posted from the attacker's site in the victim's browser.
        using var attacker = new Browser(app);
        var (_, attackerHtml) = await ConfirmPage.OpenAsync(attacker.Client, link);
        using var stranger = new Browser(app);

        var presses = new (string What, Func<Task<HttpResponseMessage>> Press)[]
        {
            ("another site's form (Sec-Fetch-Site)", () => ConfirmPage.PressAsync(app.Browser, pageUri, html, r => Replace(r, "Sec-Fetch-Site", "cross-site"))),
            ("a same-site but other-origin form", () => ConfirmPage.PressAsync(app.Browser, pageUri, html, r => Replace(r, "Sec-Fetch-Site", "same-site"))),
            ("another origin (Origin)", () => ConfirmPage.PressAsync(app.Browser, pageUri, html, r => Replace(r, "Origin", "https://evil.example"))),
            ("a browser without the page's cookie", () => ConfirmPage.PressAsync(stranger.Client, pageUri, html)),
            ("the attacker's confirmation in the victim's browser", () => ConfirmPage.PressAsync(app.Browser, pageUri, attackerHtml)),
            ("no confirmation", () => app.Browser.PostAsync("api/connect", new FormUrlEncodedContent([fields[0]]))),
            ("a confirmation of another length", () => app.Browser.PostAsync("api/connect", new FormUrlEncodedContent([fields[0], new("confirmation", fields[1].Value + "A")]))),
        };

        foreach (var (what, press) in presses)
        {
            using var response = await press();
            var page = await response.Content.ReadAsStringAsync();

            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{what}: expected 403, got {(int)response.StatusCode}: {page}");
            Assert.Contains("Please continue from your link&#39;s page", page);
            Assert.DoesNotContain(response.Headers.TryGetValues("Set-Cookie", out var set) ? set : [], c => !c.Contains("fbc-confirm-", StringComparison.Ordinal));
            Probe.AssertPageHeaders(response, what);
            Assert.Empty(await stack.RowsAsync(StorageOptions.ConsentStatesTableName));
            Assert.Empty(stack.Emulator.Calls);
        }

        // Nothing was spent: the victim's own press still continues.
        using var genuine = await ConfirmPage.PressAsync(app.Browser, pageUri, html);
        Assert.Equal(HttpStatusCode.Found, genuine.StatusCode);
    }

    [Fact]
    public async Task With_the_page_turned_off_a_link_goes_to_FreshBooks_at_once()
    {
        var app = await NamedAppAsync(s => s["Onboarding:ConfirmPage"] = "false");
        var (link, _) = await app.CreateLinkAsync("signed-in", tenantName: "Signed In Ltd");

        using var response = await app.Browser.GetAsync(link);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith(stack.Emulator.AuthorizeUri.AbsoluteUri, response.Headers.Location!.AbsoluteUri);
        var (status, page) = await app.CallbackAsync(await stack.Emulator.ApproveAsync(response.Headers.Location!));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains($"connected Analytical Engines Ltd. to “Signed In Ltd” in {Encoded(Product)}.", page);
    }

    [Fact]
    public async Task A_spent_expired_or_forged_link_never_shows_the_page_nor_continues_from_an_open_one()
    {
        var app = await NamedAppAsync();
        var (spent, _) = await app.CreateLinkAsync("spent", ConnectStack.ReturnUrlPrefix + "fb", tenantName: "Spent Co");
        var (staleUri, staleHtml) = await ConfirmPage.OpenAsync(app.Browser, spent);
        Assert.Equal(HttpStatusCode.OK, (await app.CallbackAsync(await stack.Emulator.ApproveAsync(await app.StartAsync(spent)))).Status);
        var (expiring, _) = await app.CreateLinkAsync("expiring", tenantName: "Late Co");
        var (expiringUri, expiringHtml) = await ConfirmPage.OpenAsync(app.Browser, expiring);
        var forged = spent.Replace(Probe.LinkToken(spent), Probe.SplitLink(Probe.LinkToken(expiring)).Payload + "." + Probe.SplitLink(Probe.LinkToken(spent)).Signature, StringComparison.Ordinal);
        var before = await Probe.SnapshotAsync(stack);

        // Opened again: the link's own refusal page, not the confirm page.
        foreach (var (link, expected, title) in new[] { (spent, HttpStatusCode.Conflict, "This link was already used"), (forged, HttpStatusCode.Forbidden, "This link is not valid") })
        {
            using var response = await app.Browser.GetAsync(link);
            var page = await response.Content.ReadAsStringAsync();
            Assert.Equal(expected, response.StatusCode);
            Assert.Contains(title, page);
            Assert.DoesNotContain("Continue to FreshBooks", page);
            Assert.False(response.Headers.Contains("Set-Cookie"));
        }

        // A page opened before the link was spent: its button gets the same refusal.
        using (var late = await ConfirmPage.PressAsync(app.Browser, staleUri, staleHtml))
        {
            Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
            Assert.Contains($"href=\"{ConnectStack.ReturnUrlPrefix}fb\"", await late.Content.ReadAsStringAsync());
        }

        // A page left open past its link's expiry.
        stack.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        using (var expiredPage = await app.Browser.GetAsync(expiring))
        {
            Assert.Equal(HttpStatusCode.Gone, expiredPage.StatusCode);
            Assert.DoesNotContain("Continue to FreshBooks", await expiredPage.Content.ReadAsStringAsync());
        }

        using (var expiredPress = await ConfirmPage.PressAsync(app.Browser, expiringUri, expiringHtml))
        {
            Assert.Equal(HttpStatusCode.Gone, expiredPress.StatusCode);
        }

        Assert.Equal(before, await Probe.SnapshotAsync(stack));
    }

    [Fact]
    public async Task Creating_a_link_with_a_bad_tenant_name_answers_a_problem_and_a_good_one_is_trimmed()
    {
        foreach (var tenantName in new[] { "", "   ", new string('n', 101), "Acme\r\nLtd", "Acme\u0000", "\u202Eevil\u202C Ltd", "Acme\u2028Ltd", "Acme\u200B" })
        {
            using var response = await stack.App.Api.PostAsJsonAsync("api/onboarding-links", new { tenantId = "acme", tenantName });
            var body = await response.Content.ReadAsStringAsync();

            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonSerializer.Serialize(tenantName)}: {(int)response.StatusCode} {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("urn:freshbooks-connect:problem:invalid-tenant-name", JsonDocument.Parse(body).RootElement.GetProperty("type").GetString());
        }

        var (link, _) = await stack.App.CreateLinkAsync("acme", tenantName: "  Acme Ltd — Zürich 🏔 ");
        var (_, page) = await ConfirmPage.OpenAsync(stack.App.Browser, link);
        Assert.Contains($"connected to “{Encoded("Acme Ltd — Zürich 🏔")}”.", page);
        Assert.Empty(await stack.RowsAsync(StorageOptions.ConsentStatesTableName));
        Assert.DoesNotContain(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);
    }

    private static string Encoded(string text) => WebUtility.HtmlEncode(text);

    private static void Replace(HttpRequestMessage request, string header, string value)
    {
        request.Headers.Remove(header);
        request.Headers.Add(header, value);
    }
}
