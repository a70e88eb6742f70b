using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;
using FsCheck;
using FsCheck.Fluent;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// Every HTTP route against malformed, oversized, repeated, non-UTF-8 and injection-shaped input: always a 4xx with a clear
/// message, never a 500, never a write to any table, never a call to FreshBooks (issue 4).
/// </summary>
[Collection(StackCollection.Name)]
public sealed partial class BadInputTests(ConnectStack stack) : IAsyncLifetime
{
    private const string Victim = "t-victim";
    private static readonly string Huge = new('A', 100_000);

    /// <summary>Values shaped like attacks on something behind the input: headers, HTML, paths, OData filters.</summary>
    private static readonly string[] Injections =
    [
        "%0D%0ASet-Cookie:%20fbc-x=1",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "<script>alert(1)</script>",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "../../etc/passwd",
        "%2e%2e%2f",
        "'%20or%201%20eq%201",
        "%27%20or%20PartitionKey%20ne%20%27",
        "%00",
        "%FF%FE",
        "%C0%AE%C0%AE%2F",
    ];

    private AppInstance App => stack.App;

    public async Task InitializeAsync()
    {
        await stack.ResetStorageAsync();

        // Something to damage: a live connection, and a consent in progress.
        var (status, _, id) = await App.ConnectAsync("victim");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Victim, id);
        Pending = new Browser(App);
        PendingRedirect = await stack.Emulator.ApproveAsync(await Pending.StartAsync((await App.CreateLinkAsync("pending")).Url));
        PendingState = HttpUtility.ParseQueryString(PendingRedirect.Query)["state"]!;
    }

    public Task DisposeAsync()
    {
        Pending.Dispose();
        return Task.CompletedTask;
    }

    private Browser Pending { get; set; } = null!;

    private Uri PendingRedirect { get; set; } = null!;

    private string PendingState { get; set; } = null!;

    // ---- Start ------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Start_refuses_malformed_oversized_repeated_non_UTF8_and_injection_shaped_links()
    {
        var genuine = Probe.LinkToken((await App.CreateLinkAsync("genuine")).Url);
        var queries = new List<string>
        {
            "link=",
            "link=abc",
            "link=abc.def",
            "link=.",
            "link=a.b.c",
            "link=" + new string('A', 3000) + "." + new string('B', 43),
            "link=" + Huge,
            "link=x&link=y",
            $"link={genuine}&link={genuine}",
            $"link={genuine}&LINK={genuine}",
            $"link={genuine}%00",
            $"link={genuine}.",
            $"link={Probe.SplitLink(genuine).Payload}.",
            $"link=.{Probe.SplitLink(genuine).Signature}",
        };
        queries.AddRange(Injections.Select(i => "link=" + i));
        queries.AddRange(Injections.Select(i => $"link={genuine}{i}"));

        foreach (var query in queries)
        {
            await AssertRefusedAsync(App.Browser, HttpMethod.Get, "api/connect?" + query);
        }
    }

    [Fact]
    public async Task Pressing_the_page_button_refuses_bodies_that_are_not_its_form_and_starts_nothing()
    {
        var (link, _) = await App.CreateLinkAsync("pressed");
        var (page, html) = await ConfirmPage.OpenAsync(App.Browser, link);
        var fields = ConfirmPage.Fields(html);
        var genuine = Probe.LinkToken(link);
        var confirmation = fields[1].Value;
        string Form(params string[] pairs) => string.Join('&', pairs);

        var bodies = new List<HttpContent>
        {
            NoContentType(Form($"link={genuine}", $"confirmation={confirmation}")),
            Json(JsonSerializer.Serialize(new { link = genuine, confirmation })),
            WithMediaType(Form($"link={genuine}", $"confirmation={confirmation}"), "text/plain"),
            WithMediaType(Form($"link={genuine}", $"confirmation={confirmation}"), "multipart/form-data; boundary=x"),
            WithMediaType(Form($"link={genuine}", $"confirmation={confirmation}"), "application/x-www-form-urlencoded; charset=iso-8859-1"),
            WithMediaType(Form($"link={genuine}", $"confirmation={confirmation}"), "application/x-www-form-urlencodedfoo"),
            FormBody(Form($"link={genuine}", $"confirmation={confirmation}", "pad=" + new string('p', 5000))),
            FormBody(Form($"link={genuine}", $"link={genuine}", $"confirmation={confirmation}")),
            FormBody(Form($"link={genuine}", $"confirmation={confirmation}", $"confirmation={confirmation}")),
            FormBody(Form($"link={genuine}", $"confirmation={confirmation}", "confirmation=")),
            FormBody(Form($"link={genuine}")),
            FormBody(Form($"confirmation={confirmation}")),
            FormBody(Form($"link={new string('A', 3000)}", $"confirmation={confirmation}")),
            FormBody(Form($"link={genuine}", $"confirmation={confirmation[..42]}")),
            FormBody(Form($"link={genuine}", $"confirmation={confirmation}%00")),
            FormBody(Form($"link={genuine}%FF%FE", $"confirmation={confirmation}")),
            FormBody(Form("link=abc.def", $"confirmation={confirmation}")),
            new ByteArrayContent([.. Encoding.ASCII.GetBytes($"link={genuine}&confirmation="), 0xFF, 0xFE]) { Headers = { ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded") } },
        };
        bodies.AddRange(Injections.Select(i => FormBody(Form($"link={i}", $"confirmation={confirmation}"))));
        bodies.AddRange(Injections.Select(i => FormBody(Form($"link={genuine}", $"confirmation={i}"))));
        bodies.AddRange(Injections.Select(i => FormBody(Form($"link={genuine}{i}", $"confirmation={confirmation}"))));

        foreach (var body in bodies)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(page, "connect")) { Content = body };
            request.Headers.Add("Sec-Fetch-Site", "same-origin");
            await AssertRefusedAsync(App.Browser, request);
        }

        // The page's own form still works after all that.
        using var pressed = await ConfirmPage.PressAsync(App.Browser, page, html);
        Assert.Equal(HttpStatusCode.Found, pressed.StatusCode);
    }

    // ---- Callback ---------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Callback_refuses_malformed_oversized_repeated_non_UTF8_and_injection_shaped_parameters()
    {
        var unknown = new string('Q', 43);
        var queries = new List<string>
        {
            "",
            "state=",
            "code=abc",
            "state=abc&code=abc",
            $"state={unknown}",
            $"state={unknown}&code=",
            $"state={unknown}&state={unknown}&code=abc",
            $"state={unknown}&code=a&code=b",
            $"state={unknown}&error=access_denied&error=access_denied",
            $"state={unknown}&code=abc&error=access_denied",
            $"state={unknown}&code=abc&error_description=a&error_description=b",
            $"state={unknown}&code={new string('c', 600)}",
            $"state={unknown}&error={new string('e', 300)}",
            $"state={unknown}&error=x&error_description={new string('d', 2000)}",
            $"state={new string('Q', 44)}&code=abc",
            $"state={new string('Q', 42)}&code=abc",
            $"state={new string('Q', 54)}&code=abc",
            $"state={new string('A', 54)}&code=abc",
            $"state={new string('Q', 53)}&code=abc",
            "state=" + Huge,
            $"state={unknown}&code=" + Huge,
        };
        foreach (var injection in Injections)
        {
            queries.Add($"state={injection}&code=abc");
            queries.Add($"state={unknown}&code={injection}");
            queries.Add($"state={unknown}&error={injection}&error_description={injection}");
            queries.Add($"state={unknown}{injection}&code=abc");
        }

        // No browser cookie: whatever the parameters say, nothing may happen.
        foreach (var query in queries)
        {
            await AssertRefusedAsync(App.Browser, HttpMethod.Get, "api/callback?" + query);
        }
    }

    [Fact]
    public async Task Callback_with_the_real_state_and_cookie_but_a_bad_code_spends_nothing_and_the_consent_still_completes()
    {
        var state = PendingState;
        var queries = new List<string>
        {
            $"state={state}",
            $"state={state}&code=",
            $"state={state}&state={state}&code=abc",
            $"state={state}&code=abc&code=abc",
            $"state={state}&code=abc&error=access_denied",
            $"state={state}&code={new string('c', 600)}",
            $"state={state}&error={new string('e', 300)}",
            $"state={state}&code=" + Huge,
        };
        // (Injections that decode to a well-formed code, like ../../etc/passwd, are FreshBooks' to refuse: left out here.)
        queries.AddRange(Injections.Where(i => !WellFormedCode().IsMatch(Uri.UnescapeDataString(i))).Select(i => $"state={state}&code={i}"));

        foreach (var query in queries)
        {
            await AssertRefusedAsync(Pending.Client, HttpMethod.Get, "api/callback?" + query);
        }

        using var completed = await Pending.Client.GetAsync(PendingRedirect);
        Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
    }

    [Fact]
    public async Task Script_sent_in_error_or_error_description_is_never_echoed_unencoded()
    {
        const string Script = "<script>alert(1)</script>";
        var attack = $"api/callback?state={PendingState}&error={Uri.EscapeDataString(Script)}&error_description={Uri.EscapeDataString(Script)}";

        // From a stranger's browser: refused, nothing echoed.
        await AssertRefusedAsync(App.Browser, HttpMethod.Get, attack);

        // From the browser that started the consent: FreshBooks' error is shown, HTML-encoded.
        stack.Emulator.ResetLog();
        using var response = await Pending.Client.GetAsync(attack);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("FreshBooks could not complete the connection", page);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", page);
        Assert.DoesNotContain("<script", page, StringComparison.OrdinalIgnoreCase);
        Probe.AssertPageHeaders(response);
        Assert.Empty(stack.Emulator.Calls);
    }

    // ---- Connection routes ------------------------------------------------------------------------------------------

    [Fact]
    public async Task Connection_routes_refuse_malformed_ids_and_never_touch_another_connection()
    {
        var ids = new List<string>
        {
            "..%2F..",
            "..%2F..%2Fconnections",
            "a%00b",
            new string('a', 300),
            "%FF%FE",
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "'%20or%201%20eq%201",
            "%27%20or%20PartitionKey%20ne%20%27",
            Victim + "%0D%0A",
            Victim + "%20",
            "%20" + Victim,
            Victim + "%00",
            ".." + Victim,
            "-" + Victim,
            Victim.ToUpperInvariant(),
            "t-nobody",
            "%2e%2e%2f",
            "%C0%AE%C0%AE",
        };

        foreach (var id in ids)
        {
            await AssertRefusedAsync(App.Api, HttpMethod.Get, $"api/connections/{id}");
            await AssertRefusedAsync(App.Api, HttpMethod.Get, $"api/connections/{id}/token");
            await AssertRefusedAsync(App.Api, HttpMethod.Post, $"api/connections/{id}/refresh", Json("{\"accessToken\":\"abc\"}"));
            await AssertRefusedAsync(App.Api, HttpMethod.Delete, $"api/connections/{id}");
        }

        // The victim is intact and still served.
        using var token = await App.Api.GetAsync($"api/connections/{Victim}/token");
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
    }

    [Fact]
    public async Task Listing_refuses_bad_page_sizes_and_damaged_continuation_tokens()
    {
        static string Wrapped(string storageToken) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(storageToken));
        var queries = new List<string>
        {
            "pageSize=0",
            "pageSize=-1",
            "pageSize=201",
            "pageSize=abc",
            "pageSize=1e3",
            "pageSize=%201",
            "pageSize=0x10",
            "pageSize=1.5",
            "pageSize=" + new string('9', 40),
            "pageSize=1&pageSize=2",
            "pageSize=%FF%FE",
            "pageSize=" + Huge,
            "continuationToken=!!!",
            "continuationToken=%FF%FE",
            "continuationToken=a&continuationToken=b",
            "continuationToken=" + new string('A', 3000),
            "continuationToken=" + Huge,
        };
        queries.AddRange(Injections.Select(i => "pageSize=" + i));
        queries.AddRange(Injections.Select(i => "continuationToken=" + i));

        foreach (var query in queries)
        {
            await AssertRefusedAsync(App.Api, HttpMethod.Get, "api/connections?" + query);
        }

        // A well-wrapped token is a position in the table to storage: it may answer a page from there (it lists nothing a
        // caller with the key could not list anyway) or refuse it, but never fail and never write.
        foreach (var storageToken in new[] { "' or 1 eq 1", "' or PartitionKey ne '", "../../etc/passwd", "a\r\nb", "\0", "1!1!", "x y z", "t-victim connection", new string('z', 1500) })
        {
            await AssertRefusedAsync(App.Api, HttpMethod.Get, "api/connections?continuationToken=" + Wrapped(storageToken), pageIsFine: true);
        }
    }

    // ---- Onboarding links -------------------------------------------------------------------------------------------

    [Fact]
    public async Task Creating_a_link_refuses_bad_bodies_tenants_and_return_urls()
    {
        var bodies = new List<HttpContent>
        {
            new StringContent("{\"tenantId\":\"acme\"}", Encoding.UTF8, "text/plain"),
            new StringContent("tenantId=acme", Encoding.UTF8, "application/x-www-form-urlencoded"),
            NoContentType("{\"tenantId\":\"acme\"}"),
            Json(""),
            Json("{not json"),
            Json("[]"),
            Json("null"),
            Json("\"acme\""),
            Json("{\"tenantId\":5}"),
            Json("{\"tenantId\":[\"acme\"]}"),
            Json("{\"tenantId\":\"acme\",}"),
            Json("{\"tenantId\":\"acme\" /* comment */}"),
            Json("{\"tenantId\":\"" + Huge + "\"}"),
            Json("{\"tenantId\":\"" + new string('t', 500) + "\"}"),
            Json("{}"),
            Json("{\"tenantId\":\"\"}"),
            Json("{\"tenantId\":\" \"}"),
            Json("{\"tenantId\":\"acme\",\"returnUrl\":\"" + new string('r', 3000) + "\"}"),
            Json("{\"tenantId\":\"acme\",\"allowIdentityChange\":\"yes\"}"),
            Json("{\"tenantId\":\"acme\",\"allowIdentityChange\":1}"),
            new ByteArrayContent([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x22, 0x61, 0x22, 0x7D]) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        foreach (var tenant in new[] { "<script>alert(1)</script>", "../../etc/passwd", "' or 1 eq 1", "a\r\nb", "a\u0000b", "acme/../other", ".acme", "-acme", "ac me", "ä" })
        {
            bodies.Add(JsonContent.Create(new { tenantId = tenant }));
        }

        foreach (var tenantName in new[] { "", " ", new string('n', 101), "<script>\r\n</script>", "a\u0000b", "a\u001Bb", "\u202Eeman\u202C", "a\u2029b", "a\uFEFF" })
        {
            bodies.Add(JsonContent.Create(new { tenantId = "acme", tenantName }));
        }

        bodies.Add(Json("{\"tenantId\":\"acme\",\"tenantName\":\"\\ud800\"}"));
        bodies.Add(Json("{\"tenantId\":\"acme\",\"tenantName\":5}"));
        bodies.Add(Json("{\"tenantId\":\"acme\",\"tenantName\":[\"Acme\"]}"));
        bodies.Add(Json("{\"tenantId\":\"acme\",\"tenantName\":\"" + Huge + "\"}"));

        foreach (var returnUrl in new[]
        {
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "https://evil.example/settings/",
            "https://saas.example.evil.example/settings/",
            "https://saas.example@evil.example/settings/",
            "https://user:pass@saas.example/settings/",
            "https://saas.example:8443/settings/",
            "http://saas.example/settings/",
            "//evil.example/settings/",
            "/settings/",
            "https://saas.example/settings/../admin",
            "https://saas.example/settings%2F..%2F..%2Fadmin/../../x",
            "https://saas.example/settingsevil",
            "https://saas.example/",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            " https://evil.example/settings/",

            // Allowed, but the link would be longer than Start reads.
            "https://saas.example/settings/" + new string('r', 1960),
        })
        {
            bodies.Add(JsonContent.Create(new { tenantId = "acme", returnUrl }));
        }

        foreach (var body in bodies)
        {
            await AssertRefusedAsync(App.Api, HttpMethod.Post, "api/onboarding-links", body);
        }
    }

    // ---- Refresh after a 401 ----------------------------------------------------------------------------------------

    [Fact]
    public async Task Refresh_refuses_a_body_that_is_not_JSON_lacks_the_token_or_is_too_large_and_refreshes_nothing()
    {
        var bodies = new List<HttpContent>
        {
            new StringContent("{\"accessToken\":\"abc\"}", Encoding.UTF8, "text/plain"),
            NoContentType("{\"accessToken\":\"abc\"}"),
            Json(""),
            Json("{not json"),
            Json("abc"),
            Json("[]"),
            Json("null"),
            Json("{}"),
            Json("{\"accessToken\":null}"),
            Json("{\"accessToken\":\"\"}"),
            Json("{\"accessToken\":5}"),
            Json("{\"accessToken\":{\"a\":1}}"),
            Json("{\"accessToken\":\"" + new string('a', 10_000) + "\"}"),
            Json("{\"accessToken\":\"" + Huge + "\"}"),
        };

        foreach (var body in bodies)
        {
            await AssertRefusedAsync(App.Api, HttpMethod.Post, $"api/connections/{Victim}/refresh", body);
        }
    }

    // ---- Bodies ------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Json_routes_accept_only_the_application_json_media_type()
    {
        foreach (var mediaType in new[] { "application/jsonfoo", "application/json-patch+json", "application/problem+json", "application/json; charset=latin1", "application/json; charset=utf-16", "text/json", "application/x-json", "application/json/x" })
        {
            await AssertRefusedAsync(App.Api, HttpMethod.Post, "api/onboarding-links", WithMediaType("{\"tenantId\":\"acme\"}", mediaType));
            await AssertRefusedAsync(App.Api, HttpMethod.Post, $"api/connections/{Victim}/refresh", WithMediaType("{\"accessToken\":\"abc\"}", mediaType));
        }

        // The exact type, with or without its UTF-8 charset, in any case.
        foreach (var mediaType in new[] { "application/json", "application/json; charset=utf-8", "Application/JSON; Charset=UTF-8" })
        {
            using var response = await App.Api.PostAsync("api/onboarding-links", WithMediaType("{\"tenantId\":\"acme\"}", mediaType));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{mediaType}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task A_body_that_stops_short_of_its_Content_Length_gets_a_4xx_and_changes_nothing()
    {
        foreach (var path in new[] { "api/onboarding-links", $"api/connections/{Victim}/refresh" })
        {
            var before = await Probe.SnapshotAsync(stack);
            var (status, body) = await RawHttp.SendAsync(App, path, contentLength: 100, parts: ["{\"tenantId\""], pause: TimeSpan.Zero, endSending: false);

            Assert.True(status is >= 400 and < 500, $"{path}: expected a 4xx, got {status}: {body}");
            Assert.Equal(before, await Probe.SnapshotAsync(stack));
        }
    }

    [Fact]
    public async Task A_body_sent_a_byte_at_a_time_too_slowly_gets_a_4xx_and_changes_nothing()
    {
        var before = await Probe.SnapshotAsync(stack);
        var trickle = Enumerable.Repeat("{", 60).ToArray();
        var (status, body) = await RawHttp.SendAsync(App, "api/onboarding-links", contentLength: 100, parts: trickle, pause: TimeSpan.FromMilliseconds(500), endSending: false);

        Assert.True(status is >= 400 and < 500, $"expected a 4xx, got {status}: {body}");
        Assert.Equal(before, await Probe.SnapshotAsync(stack));
    }

    // ---- Anything else ----------------------------------------------------------------------------------------------

    [Fact]
    public async Task Wrong_methods_and_oversized_requests_on_any_route_get_a_4xx()
    {
        var requests = new (HttpMethod Method, string Path)[]
        {
            (HttpMethod.Post, "api/health"),
            (HttpMethod.Get, "api/health?x=" + Huge),
            (HttpMethod.Post, "api/connect"),
            (HttpMethod.Post, "api/callback"),
            (HttpMethod.Get, "api/onboarding-links"),
            (HttpMethod.Put, $"api/connections/{Victim}"),
            (HttpMethod.Patch, $"api/connections/{Victim}"),
            (HttpMethod.Get, $"api/connections/{Victim}/refresh"),
            (HttpMethod.Delete, $"api/connections/{Victim}/token"),
            (HttpMethod.Delete, "api/connections"),
            (HttpMethod.Get, $"api/connections/{Victim}/token?x=" + Huge),
        };
        foreach (var (method, path) in requests)
        {
            await AssertRefusedAsync(App.Api, method, path);
        }

        // Headers too large for the server.
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/connections/{Victim}/token");
        request.Headers.TryAddWithoutValidation("X-Padding", Huge);
        await AssertRefusedAsync(App.Api, request);
    }

    // ---- Generated input --------------------------------------------------------------------------------------------

    [Fact]
    public async Task Generated_callback_query_strings_are_always_refused_with_4xx_and_change_nothing()
    {
        var names = Gen.Elements("state", "code", "error", "error_description", "State", "code%00", "x");
        var values = Gen.OneOf(
            Gen.Elements(Injections),
            Gen.Elements("access_denied", "server_error", "", "abc", new string('Q', 43)),
            TokenLike(43).Select(Encoded),
            ArbMap.Default.GeneratorFor<string>().Where(s => s is not null).Select(Encoded),
            Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>()).Select(bytes => string.Concat(bytes.Select(b => $"%{b:X2}"))),
            Gen.Choose(0, 4000).Select(n => new string('c', n)));
        var queries = Gen.ListOf(names.SelectMany(_ => values, (name, value) => $"{name}={value}"))
            .Select(pairs => string.Join('&', pairs))
            .Where(q => !q.Contains(PendingState, StringComparison.Ordinal));

        await CheckAsync(queries, query => AssertRefusedAsync(App.Browser, HttpMethod.Get, "api/callback?" + query));
    }

    [Fact]
    public async Task Generated_and_mutated_link_tokens_are_always_refused_by_Start_and_start_nothing()
    {
        var genuine = Probe.LinkToken((await App.CreateLinkAsync("genuine", ConnectStack.ReturnUrlPrefix + "x")).Url);
        var (payload, signature) = Probe.SplitLink(genuine);
        var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/%~ ".ToCharArray();

        // Every character but the signature's last one (its two low bits are padding that decoding may ignore).
        var mutated = Gen.Choose(0, genuine.Length - 2)
            .SelectMany(_ => Gen.Elements(alphabet), (at, c) => (At: at, Char: c))
            .Where(m => genuine[m.At] != m.Char)
            .Select(m => Uri.EscapeDataString(string.Concat(genuine.AsSpan(0, m.At), m.Char.ToString(), genuine.AsSpan(m.At + 1))));
        var truncated = Gen.Choose(0, genuine.Length - 1).Select(n => Uri.EscapeDataString(genuine[..n]));
        var reSigned = ArbMap.Default.GeneratorFor<string>().Where(s => s is not null)
            .Select(tenant => Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{{\"t\":\"{tenant}\",\"exp\":4102444800}}")))
            .Select(p => $"{p}.{Base64Url.EncodeToString(HMACSHA256.HashData(RandomNumberGenerator.GetBytes(32), Encoding.ASCII.GetBytes("onboarding-link.v1." + p)))}");
        var foreignSignature = TokenLike(43).Select(s => $"{payload}.{s}");
        var random = Gen.OneOf(
            TokenLike(10).SelectMany(_ => TokenLike(43), (p, s) => $"{p}.{s}"),
            ArbMap.Default.GeneratorFor<string>().Where(s => s is not null).Select(Encoded),
            Gen.Elements(Injections));
        var tokens = Gen.OneOf(mutated, mutated, truncated, reSigned, foreignSignature, random);
        var queries = Gen.OneOf(
            tokens.Select(t => "link=" + t),
            tokens.Select(t => $"link={t}&link={genuine}"),
            tokens.Select(t => $"link={genuine}&link={t}"));

        await CheckAsync(queries, query => AssertRefusedAsync(App.Browser, HttpMethod.Get, "api/connect?" + query));
    }

    // ---- Helpers ----------------------------------------------------------------------------------------------------

    private Task AssertRefusedAsync(HttpClient client, HttpMethod method, string path, HttpContent? content = null, bool pageIsFine = false)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        return AssertRefusedAsync(client, request, pageIsFine);
    }

    /// <summary>A 4xx with a clear message (or Kestrel's own empty 4xx), nothing echoed as markup, nothing written, FreshBooks not called.</summary>
    private async Task AssertRefusedAsync(HttpClient client, HttpRequestMessage request, bool pageIsFine = false)
    {
        using (request)
        {
            var before = await Probe.SnapshotAsync(stack);
            var described = $"{request.Method} {Shorten(request.RequestUri?.OriginalString ?? "")}";
            using var response = await client.SendAsync(request);
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync();
            if (status is >= 400 and < 500 && body.Length > 0)
            {
                // Kestrel's own refusals (414, 431, 405) have no body; the product's always say what is wrong.
                var clear = response.Content.Headers.ContentType?.MediaType switch
                {
                    "text/html" => body.Contains("<h1>", StringComparison.Ordinal),
                    "application/problem+json" or "application/json" => body.Contains("\"title\"", StringComparison.Ordinal),
                    _ => false,
                };
                Assert.True(clear, $"{described}: {status} without a clear message: {Shorten(body)}");
            }

            Assert.True(status is >= 400 and < 500 || (pageIsFine && status == 200), $"{described}: expected a 4xx, got {status}: {Shorten(body)}");
            Assert.DoesNotContain("<script", body, StringComparison.OrdinalIgnoreCase);
            var after = await Probe.SnapshotAsync(stack);
            Assert.True(before == after, $"{described}: something changed.\nbefore: {before}\nafter: {after}");
        }
    }

    /// <summary>Runs a property over real HTTP: 100 cases, shrunk on failure, with FsCheck's replay seed in the message.</summary>
    private static Task CheckAsync(Gen<string> inputs, Func<string, Task> assert) =>
        Task.Run(() => Check.One(
            Config.QuickThrowOnFailure.WithMaxTest(100),
            Prop.ForAll(inputs.ToArbitrary(), (string input) => assert(input))));

    private static Gen<string> TokenLike(int length) =>
        Gen.ArrayOf(Gen.Elements("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".ToCharArray()), length).Select(c => new string(c));

    /// <summary>Percent-encodes every UTF-8 byte (lone surrogates become U+FFFD, as a browser would send them).</summary>
    private static string Encoded(string value) => string.Concat(Encoding.UTF8.GetBytes(value).Select(b => $"%{b:X2}"));

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>A form body exactly as written (already percent-encoded), as the page's form sends it.</summary>
    private static StringContent FormBody(string body) => WithMediaType(body, "application/x-www-form-urlencoded");

    private static StringContent WithMediaType(string body, string mediaType)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", mediaType);
        return content;
    }

    private static StringContent NoContentType(string body)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = null;
        return content;
    }

    [GeneratedRegex("^[A-Za-z0-9._~+/=-]+\\z")]
    private static partial Regex WellFormedCode();

    private static string Shorten(string text) => text.Length <= 300 ? text : $"{text[..300]}… ({text.Length} chars)";
}
