using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using FreshBooks.Emulator;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Connections.Internal;
using FreshBooksConnect.Events.Internal;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>The FreshBooks proxy (issue 19): forwarding, the allow-list, the 401 path, limits, and secrets kept in.</summary>
[Collection(StackCollection.Name)]
public sealed class ProxyTests(ConnectStack stack) : IAsyncLifetime
{
    private const string AllScopes = "user:profile:read user:clients:read user:clients:write user:invoices:read user:invoices:write user:projects:read user:time_entries:read";
    private static readonly string Account = EmulatedUser.Default.Businesses[0].AccountId;
    private static readonly long Business = EmulatedUser.Default.Businesses[0].BusinessId;

    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    private Task<AppInstance> StartAppAsync(Action<Dictionary<string, string?>>? configure = null, Action<IServiceCollection>? services = null, AppInstance? instanceOf = null) =>
        stack.StartAppAsync(
            s =>
            {
                s["FreshBooks:Scopes"] = AllScopes;
                configure?.Invoke(s);
            },
            services,
            instanceOf: instanceOf);

    private static string Proxied(string connectionId, string path) => $"api/connections/{connectionId}/freshbooks/{path}";

    private IEnumerable<EmulatorCall> ApiCalls => stack.Emulator.Calls.Where(c => c.Endpoint is not (EndpointKind.Token or EndpointKind.Revoke or EndpointKind.Authorize));

    [Fact]
    public async Task The_proxy_forwards_method_path_query_body_and_content_headers_unchanged_and_nothing_of_the_caller_else()
    {
        await using var recorder = await FreshBooksRecorder.StartAsync(stack.Emulator.BaseUri);
        var app = await StartAppAsync(s => s["FreshBooks:ApiUrl"] = recorder.BaseUri.AbsoluteUri);
        var (_, _, id) = await app.ConnectAsync("acme");
        var stored = await RenewalDriver.ConnectionAsync(app, id);
        var body = Encoding.UTF8.GetBytes("{\"client\":{\"organization\":\"Récursion & Fils\",\"email\":\"r@example.com\"}}");

        // The function key in the query this time (it must not reach FreshBooks), and what a careless caller adds.
        using var caller = new HttpClient { BaseAddress = app.Host.BaseUri };
        var query = $"search%5Bemail%5D=r%40example.com&code={app.Host.FunctionKey}&per_page=5";
        using var request = new HttpRequestMessage(HttpMethod.Post, Proxied(id, $"accounting/account/{Account}/users/clients?{query}")) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json; charset=utf-8");
        request.Content.Headers.ContentLanguage.Add("fr");
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "the-saas-own-token");
        request.Headers.Add("Cookie", "session=saas");
        request.Headers.Add("X-Forwarded-For", "10.1.2.3");
        using var response = await caller.SendAsync(request);
        var answer = await response.Content.ReadAsByteArrayAsync();

        var sent = Assert.Single(recorder.Requests, r => r.PathAndQuery.StartsWith("/accounting/", StringComparison.Ordinal));
        Assert.Equal("POST", sent.Method);
        Assert.Equal($"/accounting/account/{Account}/users/clients?search%5Bemail%5D=r%40example.com&per_page=5", sent.PathAndQuery);
        Assert.Equal(body, sent.Body);
        Assert.Equal("application/json; charset=utf-8", sent.Headers["Content-Type"]);
        Assert.Equal("fr", sent.Headers["Content-Language"]);
        Assert.Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), sent.Headers["Content-Length"]);
        Assert.Equal("application/json", sent.Headers["Accept"]);
        Assert.Equal($"Bearer {stored.AccessToken}", sent.Headers["Authorization"]);
        string[] withheld = ["Cookie", "x-functions-key", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"];
        Assert.DoesNotContain(sent.Headers.Keys, h => withheld.Contains(h, StringComparer.OrdinalIgnoreCase));

        // FreshBooks' answer comes back as it was sent.
        Assert.Equal(sent.Status, (int)response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(sent.Answer, answer);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Récursion & Fils", Encoding.UTF8.GetString(answer));

        // Another method, passed on as it is: the emulator has no DELETE of clients and answers 405, which comes back unchanged.
        using var deleted = await app.Api.DeleteAsync(Proxied(id, $"accounting/account/{Account}/users/clients/501"));
        Assert.Equal("DELETE", recorder.Requests[^1].Method);
        Assert.Equal(recorder.Requests[^1].Status, (int)deleted.StatusCode);
    }

    [Fact]
    public async Task The_proxy_streams_a_large_request_body_and_the_answer_both_ways()
    {
        await using var recorder = await FreshBooksRecorder.StartAsync(stack.Emulator.BaseUri);
        var app = await StartAppAsync(s =>
        {
            s["FreshBooks:ApiUrl"] = recorder.BaseUri.AbsoluteUri;
            s["Proxy:RetryBodyLimit"] = "1024";
        });
        var (_, _, id) = await app.ConnectAsync("acme");
        recorder.HoldPath = $"/accounting/account/{Account}/invoices/invoices";
        recorder.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The body's second half is written only once FreshBooks has received bytes of the first: a proxy that read the whole
        // body before sending would wait forever.
        var half = Enumerable.Repeat((byte)'a', 64 * 1024).ToArray();
        var content = new PushContent(async stream =>
        {
            await stream.WriteAsync(half);
            await stream.FlushAsync();
            await recorder.FirstBodyBytes.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await stream.WriteAsync(half);
        });
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentLength = 2 * half.Length;
        using var request = new HttpRequestMessage(HttpMethod.Post, Proxied(id, $"accounting/account/{Account}/invoices/invoices")) { Content = content };
        using var response = await app.Api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The answer's first part arrives while FreshBooks still holds the rest.
        await using var stream = await response.Content.ReadAsStreamAsync();
        var first = "{\"response\":{\"result\":{\"first\":";
        var buffer = new byte[first.Length];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(first, Encoding.UTF8.GetString(buffer));
        recorder.Hold.SetResult();
        using var reader = new StreamReader(stream);
        Assert.Equal("\"part\",\"second\":\"part\"}}}", await reader.ReadToEndAsync());
        Assert.Equal(2 * half.Length, recorder.Requests.Single(r => r.PathAndQuery == recorder.HoldPath).Body.Length);
    }

    [Fact]
    public async Task A_path_outside_the_allow_list_or_of_another_customer_is_refused_without_a_FreshBooks_call_or_a_write()
    {
        var app = await StartAppAsync();
        var (_, _, id) = await app.ConnectAsync("acme");
        await app.ConnectAsync("globex", ConnectStack.SecondUser.Id);
        var foreignAccount = ConnectStack.SecondUser.Businesses[0].AccountId;
        var foreignBusiness = ConnectStack.SecondUser.Businesses[0].BusinessId;
        stack.Emulator.ResetLog();
        var before = await Probe.SnapshotAsync(stack);

        (string Path, HttpStatusCode Status, string Problem)[] refused =
        [
            ($"accounting/account/{foreignAccount}/users/clients", HttpStatusCode.Forbidden, "freshbooks-account-not-connected"),
            ($"payments/account/{foreignAccount}/invoice/1", HttpStatusCode.Forbidden, "freshbooks-account-not-connected"),
            ($"projects/business/{foreignBusiness}/projects", HttpStatusCode.Forbidden, "freshbooks-account-not-connected"),
            ($"timetracking/business/{foreignBusiness}/time_entries", HttpStatusCode.Forbidden, "freshbooks-account-not-connected"),
            ($"comments/business/{foreignBusiness}/services", HttpStatusCode.Forbidden, "freshbooks-account-not-connected"),
            ("auth/oauth/token", HttpStatusCode.NotFound, "freshbooks-path-not-allowed"),
            ("auth/oauth/revoke", HttpStatusCode.NotFound, "freshbooks-path-not-allowed"),
            ("auth/api/v1/users/me/extra", HttpStatusCode.NotFound, "freshbooks-path-not-allowed"),
            ($"events/account/{Account}/events/callbacks", HttpStatusCode.NotFound, "freshbooks-path-not-allowed"),
            ($"Accounting/account/{Account}/users/clients", HttpStatusCode.NotFound, "freshbooks-path-not-allowed"),
            ($"accounting/account/{Account}", HttpStatusCode.NotFound, "freshbooks-path-not-allowed"),
            ($"accounting/account/{Account}%2Fusers/clients", HttpStatusCode.NotFound, "freshbooks-path-not-allowed"),
            ($"accounting/account/{foreignAccount}%2F..%2F{Account}/users/clients", HttpStatusCode.NotFound, "freshbooks-path-not-allowed"),
            ("projects/business/x77/projects", HttpStatusCode.NotFound, "freshbooks-path-not-allowed"),
            ("uploads/account/x/images", HttpStatusCode.NotFound, "freshbooks-path-not-allowed"),
        ];
        foreach (var (path, status, problem) in refused)
        {
            using var response = await app.Api.GetAsync(Proxied(id, path));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(status == response.StatusCode, $"{path}: expected {status}, got {(int)response.StatusCode} {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal($"urn:freshbooks-connect:problem:{problem}", JsonDocument.Parse(text).RootElement.GetProperty("type").GetString());
        }

        using var post = await app.Api.PostAsJsonAsync(Proxied(id, $"accounting/account/{foreignAccount}/users/clients"), new { client = new { organization = "Intruder" } });
        Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);
        using var unknown = await app.Api.GetAsync(Proxied("t-nobody", $"accounting/account/{Account}/users/clients"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        Assert.Empty(stack.Emulator.Calls);
        Assert.Equal(before, await Probe.SnapshotAsync(stack));
    }

    [Fact]
    public async Task A_401_after_another_instance_refreshed_is_retried_once_with_the_newer_token_and_spends_no_refresh_token_twice()
    {
        var first = await StartAppAsync();
        var second = await StartAppAsync(instanceOf: first);
        var (_, _, id) = await first.ConnectAsync("acme");

        // The first instance caches the current token.
        using var warm = await first.Api.GetAsync(Proxied(id, $"accounting/account/{Account}/users/clients"));
        Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        var cached = (await RenewalDriver.ConnectionAsync(first, id)).AccessToken;

        // The second instance refreshes it (a SaaS that got a 401 there): the first one's cached token is now dead at FreshBooks.
        using var refresh = await second.Api.PostAsJsonAsync($"api/connections/{id}/refresh", new { accessToken = cached });
        Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
        var newer = (await RenewalDriver.ConnectionAsync(second, id)).AccessToken;
        Assert.NotEqual(cached, newer);
        Assert.False(stack.Emulator.IsAccessTokenValid(cached));
        stack.Emulator.ResetLog();

        // A POST through the first instance: 401 to the cached token, then the newer one from storage, sent again with its body.
        using var created = await first.Api.PostAsJsonAsync(Proxied(id, $"accounting/account/{Account}/users/clients"), new { client = new { organization = "Retried Once Ltd." } });
        var text = await created.Content.ReadAsStringAsync();

        Assert.True(created.StatusCode == HttpStatusCode.OK, text);
        Assert.Contains("Retried Once Ltd.", text);
        Assert.Equal([401, 200], ApiCalls.Select(c => c.StatusCode));
        Assert.DoesNotContain(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);
        Assert.DoesNotContain(stack.Emulator.Misuses, m => m.Kind == MisuseKind.ReusedRefreshToken);

        // The client exists once, and the first instance now serves the newer token.
        using var listed = await first.Api.GetAsync(Proxied(id, $"accounting/account/{Account}/users/clients?per_page=100"));
        Assert.Equal(1, Regex(await listed.Content.ReadAsStringAsync(), "Retried Once Ltd."));
        Assert.Equal(newer, (await first.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString());
    }

    [Fact]
    public async Task A_401_to_the_stored_token_refreshes_it_once_and_the_call_succeeds()
    {
        var app = await StartAppAsync();
        var (_, _, id) = await app.ConnectAsync("acme");
        var before = (await RenewalDriver.ConnectionAsync(app, id)).AccessToken;
        stack.Emulator.ResetLog();
        stack.Emulator.Faults.EnqueueApi(ApiFault.Unauthorized);

        using var response = await app.Api.GetAsync(Proxied(id, $"projects/business/{Business}/projects"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([401, 200], ApiCalls.Select(c => c.StatusCode));
        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);
        Assert.NotEqual(before, (await RenewalDriver.ConnectionAsync(app, id)).AccessToken);
        Assert.DoesNotContain(stack.Emulator.Misuses, m => m.Kind == MisuseKind.ReusedRefreshToken);
    }

    [Fact]
    public async Task A_401_with_a_body_over_the_retry_limit_renews_the_token_but_is_not_sent_again_and_says_so()
    {
        var app = await StartAppAsync(s => s["Proxy:RetryBodyLimit"] = "1024");
        var (_, _, id) = await app.ConnectAsync("acme");
        stack.Emulator.ResetLog();
        stack.Emulator.Faults.EnqueueApi(ApiFault.Unauthorized);
        var large = new string('x', 4096);

        using var response = await app.Api.PostAsJsonAsync(Proxied(id, $"accounting/account/{Account}/users/clients"), new { client = new { organization = "Too Large", notes = large } });
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("urn:freshbooks-connect:problem:proxy-request-not-retried", text);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal([401], ApiCalls.Select(c => c.StatusCode));
        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);

        // Sent again by the caller, it goes through with the renewed token.
        using var again = await app.Api.PostAsJsonAsync(Proxied(id, $"accounting/account/{Account}/users/clients"), new { client = new { organization = "Too Large", notes = large } });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task A_connection_that_needs_a_new_consent_answers_409_and_a_grant_revoked_at_FreshBooks_turns_into_409()
    {
        var app = await StartAppAsync();
        var (_, _, id) = await app.ConnectAsync("acme");
        using var warm = await app.Api.GetAsync(Proxied(id, $"accounting/account/{Account}/invoices/invoices"));
        Assert.Equal(HttpStatusCode.OK, warm.StatusCode);

        // The customer disconnects the app at FreshBooks: the grant, and the cached access token with it, are dead.
        var stored = await RenewalDriver.ConnectionAsync(app, id);
        using (var http = new HttpClient { BaseAddress = stack.Emulator.BaseUri })
        {
            using var revoked = await http.PostAsJsonAsync("auth/oauth/revoke", new { client_id = ConnectStack.ClientId, client_secret = ConnectStack.ClientSecret, token = stored.RefreshToken });
            revoked.EnsureSuccessStatusCode();
        }

        stack.Emulator.ResetLog();
        using var first = await app.Api.GetAsync(Proxied(id, $"accounting/account/{Account}/invoices/invoices"));
        var text = await first.Content.ReadAsStringAsync();
        Assert.True(first.StatusCode == HttpStatusCode.Conflict, text);
        Assert.Contains("urn:freshbooks-connect:problem:needs-reconsent", text);
        Assert.Equal([401], ApiCalls.Select(c => c.StatusCode));

        // From now on the proxy answers 409 without calling FreshBooks.
        stack.Emulator.ResetLog();
        using var second = await app.Api.GetAsync(Proxied(id, $"accounting/account/{Account}/invoices/invoices"));
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Empty(stack.Emulator.Calls);
    }

    [Fact]
    public async Task FreshBooks_429_and_5xx_pass_through_with_Retry_After()
    {
        var app = await StartAppAsync();
        var (_, _, id) = await app.ConnectAsync("acme");
        stack.Emulator.ResetLog();
        stack.Emulator.Faults.EnqueueApi(ApiFault.TooManyRequests(TimeSpan.FromSeconds(7)));
        stack.Emulator.Faults.EnqueueApi(ApiFault.ServerError);

        using var throttled = await app.Api.GetAsync(Proxied(id, $"accounting/account/{Account}/users/clients"));
        using var failed = await app.Api.GetAsync(Proxied(id, $"accounting/account/{Account}/users/clients"));

        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), throttled.Headers.RetryAfter?.Delta);
        Assert.Contains("too_many_requests", await throttled.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.DoesNotContain(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);
    }

    [Fact]
    public async Task A_call_cut_short_because_the_instance_stops_answers_503_with_Retry_After_instead_of_an_empty_200()
    {
        await using var recorder = await FreshBooksRecorder.StartAsync(stack.Emulator.BaseUri);
        var app = await StartAppAsync(s => s["FreshBooks:ApiUrl"] = recorder.BaseUri.AbsoluteUri);
        var (_, _, id) = await app.ConnectAsync("acme");
        recorder.StallPath = $"/accounting/account/{Account}/users/clients";

        // FreshBooks has the call and has not answered when the instance is told to stop (a scale-in, a deploy).
        var call = app.Api.GetAsync(Proxied(id, $"accounting/account/{Account}/users/clients"));
        await recorder.Stalled.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var stopping = app.Host.DisposeAsync().AsTask();
        using var answer = await call.WaitAsync(TimeSpan.FromSeconds(30));
        await stopping;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), answer.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
        var problem = await answer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.EndsWith("instance-stopping", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_over_the_per_connection_limit_answer_429_while_other_connections_go_on()
    {
        var app = await StartAppAsync(s => s["Proxy:MaxConcurrentPerConnection"] = "1");
        var (_, _, id) = await app.ConnectAsync("acme");
        var (_, _, other) = await app.ConnectAsync("globex", ConnectStack.SecondUser.Id);
        stack.Emulator.Faults.EnqueueApi(ApiFault.Delay(TimeSpan.FromSeconds(3)));

        var slow = app.Api.GetAsync(Proxied(id, $"accounting/account/{Account}/users/clients"));
        await WaitUntilAsync(() => stack.Emulator.Faults.PendingApiCount == 0);
        using var refused = await app.Api.GetAsync(Proxied(id, $"accounting/account/{Account}/users/clients"));
        using var neighbour = await app.Api.GetAsync(Proxied(other, $"accounting/account/{ConnectStack.SecondUser.Businesses[0].AccountId}/users/clients"));
        using var finished = await slow;

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Contains("urn:freshbooks-connect:problem:proxy-concurrency-limit", await refused.Content.ReadAsStringAsync());
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, neighbour.StatusCode);
        Assert.Equal(HttpStatusCode.OK, finished.StatusCode);

        // The permit is back: the connection's next call goes through.
        using var next = await app.Api.GetAsync(Proxied(id, $"accounting/account/{Account}/users/clients"));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task No_token_appears_in_the_proxys_answers_or_in_any_log_line()
    {
        var capture = new CapturingLoggerProvider();
        var app = await StartAppAsync(services: s => s.AddLogging(b => b.AddProvider(capture).SetMinimumLevel(LogLevel.Trace)));
        var (_, _, id) = await app.ConnectAsync("acme");
        var secrets = new List<string>();
        var before = await RenewalDriver.ConnectionAsync(app, id);
        secrets.AddRange([before.AccessToken, before.RefreshToken]);

        var answers = new List<string>();
        async Task CallAsync(HttpMethod method, string path, object? body = null)
        {
            using var request = new HttpRequestMessage(method, Proxied(id, path)) { Content = body is null ? null : JsonContent.Create(body) };
            using var response = await app.Api.SendAsync(request);
            answers.Add($"{(int)response.StatusCode} {response.Headers} {response.Content.Headers} {await response.Content.ReadAsStringAsync()}");
        }

        await CallAsync(HttpMethod.Get, "auth/api/v1/users/me");
        stack.Emulator.Faults.EnqueueApi(ApiFault.Unauthorized);
        await CallAsync(HttpMethod.Post, $"accounting/account/{Account}/invoices/invoices", new { invoice = new { customerid = 501, lines = new[] { new { qty = 2, unit_cost = new { amount = "10.00" } } } } });
        stack.Emulator.Faults.EnqueueApi(ApiFault.TooManyRequests(TimeSpan.FromSeconds(1)));
        await CallAsync(HttpMethod.Get, $"accounting/account/{Account}/invoices/invoices");
        await CallAsync(HttpMethod.Get, $"accounting/account/{ConnectStack.SecondUser.Businesses[0].AccountId}/users/clients");
        var after = await RenewalDriver.ConnectionAsync(app, id);
        secrets.AddRange([after.AccessToken, after.RefreshToken]);
        Assert.NotEqual(before.AccessToken, after.AccessToken);

        Assert.Contains(answers, a => a.StartsWith("200 ", StringComparison.Ordinal) && a.Contains("\"amount\":\"20.00\"", StringComparison.Ordinal));
        var leaks = from secret in secrets
                    from text in answers.Concat(capture.Logs.Select(l => l.Everything))
                    where text.Contains(secret, StringComparison.Ordinal)
                    select text;
        Assert.Empty(leaks);
        Assert.Contains(capture.Logs, l => l.EventId.Id == 6001);
    }

    [Fact]
    public async Task A_row_in_the_old_layout_is_served_by_the_token_API_and_the_proxy_and_moved_to_its_own_row_key()
    {
        var app = await StartAppAsync();
        var (_, _, viaToken) = await app.ConnectAsync("acme");
        var (_, _, viaProxy) = await app.ConnectAsync("globex", ConnectStack.SecondUser.Id);
        var table = stack.Tables.GetTableClient(StorageOptions.ConnectionsTableName);
        var tokens = new Dictionary<string, string>();
        foreach (var id in new[] { viaToken, viaProxy })
        {
            tokens[id] = (await RenewalDriver.ConnectionAsync(app, id)).AccessToken;
            await WriteOldLayoutAsync(table, id);
        }

        stack.Emulator.ResetLog();
        var token = await app.GetJsonAsync($"api/connections/{viaToken}/token");
        using var proxied = await app.Api.GetAsync(Proxied(viaProxy, $"accounting/account/{ConnectStack.SecondUser.Businesses[0].AccountId}/users/clients"));

        Assert.Equal(tokens[viaToken], token.GetProperty("accessToken").GetString());
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        Assert.Equal([200], ApiCalls.Select(c => c.StatusCode));
        var rows = await stack.ConnectionRowsAsync();
        Assert.Equal(new[] { viaProxy, viaToken }.Order(), rows.Select(r => r.RowKey).Order());
        Assert.All(rows, r => Assert.Equal(r.PartitionKey, r.RowKey));

        // The moved rows go on as any other: a refresh writes them, and the renewal index still points at them.
        using var refreshed = await app.Api.PostAsJsonAsync($"api/connections/{viaToken}/refresh", new { accessToken = tokens[viaToken] });
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.Equal(2, (await stack.ConnectionRowsAsync()).Count);
        Assert.DoesNotContain(stack.Emulator.Misuses, m => m.Kind == MisuseKind.ReusedRefreshToken);
    }

    [Fact]
    public async Task The_connection_count_reads_rows_of_both_layouts_and_not_the_events_waiting_beside_them()
    {
        var app = await StartAppAsync();
        var (_, _, moved) = await app.ConnectAsync("acme");
        var (_, _, old) = await app.ConnectAsync("globex", ConnectStack.SecondUser.Id);
        var table = stack.Tables.GetTableClient(StorageOptions.ConnectionsTableName);
        await WriteOldLayoutAsync(table, old);
        await table.UpsertEntityAsync(new TableEntity(moved, $"{TableEventOutbox.KeyPrefix}0638999999999999999-waiting") { ["Payload"] = "{}" });

        var counts = await app.Services.GetRequiredService<IConnectionCensus>().CountByStatusAsync(default);

        Assert.Equal(2, counts[ConnectionStatus.Active]);
        Assert.Equal(2, counts.Values.Sum());
    }

    /// <summary>Puts a connection's row back where issue 19's layout change found them: row key <c>connection</c>.</summary>
    private static async Task WriteOldLayoutAsync(TableClient table, string connectionId)
    {
        var row = (await table.GetEntityAsync<TableEntity>(connectionId, connectionId)).Value;
        var old = new TableEntity(connectionId, TableConnectionStore.LegacyRowKey);
        foreach (var (key, value) in row.Where(p => p.Key is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag")))
        {
            old[key] = value;
        }

        await table.DeleteEntityAsync(connectionId, connectionId);
        await table.AddEntityAsync(old);
    }

    private static int Regex(string text, string value) => System.Text.RegularExpressions.Regex.Count(text, System.Text.RegularExpressions.Regex.Escape(value));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition(), "the condition never held");
    }

    /// <summary>A request body written by a callback, as it goes: the test decides when each part is sent.</summary>
    private sealed class PushContent(Func<Stream, Task> write) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => write(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
