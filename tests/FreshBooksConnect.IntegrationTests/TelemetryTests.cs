using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Web;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// Issue 16: what the app exports through OpenTelemetry over a customer's whole lifecycle, caught by the in-memory exporter. Its
/// own collection, run alone: spans, meters and request instrumentation listen process-wide, so no other test's app may run.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class TelemetryTests(ConnectStack stack) : IAsyncLifetime
{
    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Onboarding_renewal_token_api_401_refresh_invalid_grant_and_delete_export_linked_spans_outcome_metrics_and_no_secret()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var exported = new ExportedTelemetry();
        var app = await stack.StartAppAsync(
            configure: s =>
            {
                s["Events:WebhookUrl"] = receiver.Url.AbsoluteUri;
                s["Events:SigningSecret"] = WebhookReceiver.Secret;
            },
            withSettings: exported.Register);
        var secrets = new Dictionary<string, string>
        {
            ["client secret"] = ConnectStack.ClientSecret,
            ["token encryption key"] = stack.EncryptionKey,
            ["link signing key"] = stack.SigningKey,
            ["function key"] = app.Host.FunctionKey,
            ["master key"] = app.Host.MasterKey,
            ["webhook signing secret"] = WebhookReceiver.Secret,
        };

        // Onboarding: link, Start, Allow at FreshBooks, Callback.
        var (url, id) = await app.CreateLinkAsync("telemetry");
        secrets["link token"] = Probe.LinkToken(url);
        secrets["link signature"] = Probe.SplitLink(secrets["link token"]).Signature;
        var consent = await app.StartAsync(url);
        secrets["browser binding"] = Assert.Single(app.Cookies.GetAllCookies(), c => c.Name.StartsWith("fbc-", StringComparison.Ordinal)).Value;
        var redirect = await stack.Emulator.ApproveAsync(consent);
        var query = HttpUtility.ParseQueryString(redirect.Query);
        secrets["authorization code"] = query["code"]!;
        secrets["state"] = query["state"]!;
        Assert.Equal(HttpStatusCode.OK, (await app.CallbackAsync(redirect)).Status);
        AddTokens(secrets, "consent", await RenewalDriver.ConnectionAsync(app, id));
        await app.Host.InvokeAsync("CountConnections");

        // A renewal: the sweep, then the queue worker.
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        Assert.Equal(1, await RenewalDriver.SweepAndRenewAsync(stack, app));
        var renewed = await RenewalDriver.ConnectionAsync(app, id);
        AddTokens(secrets, "renewal", renewed);

        // The token API, then a 401 the SaaS backend reports.
        secrets["token answer"] = (await app.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!;
        using (var refreshed = await app.Api.PostAsJsonAsync($"api/connections/{id}/refresh", new { accessToken = renewed.AccessToken }))
        {
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
            secrets["refresh answer"] = (await refreshed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
        }

        var afterRefresh = await RenewalDriver.ConnectionAsync(app, id);
        AddTokens(secrets, "401 refresh", afterRefresh);

        // The customer disconnects the app at FreshBooks: the next renewal meets invalid_grant.
        await RevokeAtFreshBooksAsync(afterRefresh.RefreshToken);
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        await app.Host.InvokeAsync("CountConnections");
        Assert.Equal(1, await RenewalDriver.SweepAndRenewAsync(stack, app));
        Assert.Equal(ConnectionStatus.NeedsReconsent, (await RenewalDriver.ConnectionAsync(app, id)).Status);
        exported.Flush(app);
        var afterReconsent = Gauge(exported.LatestMetrics()["freshbooks.connections"]);

        // Disconnect here too: revoke and delete; then the events go out to the webhook.
        using (var deleted = await app.Api.DeleteAsync($"api/connections/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.True(await RenewalDriver.DeliverEventsAsync(stack, app) > 0);
        exported.Flush(app);

        // ---- Spans: each operation, its FreshBooks calls and storage steps as children, the sweep linked to its renewals.
        var spans = exported.Spans;
        var ours = spans.Where(s => s.Source.Name == "FreshBooksConnect").ToList();
        List<string> Children(Activity parent) => [.. ours.Where(s => s.ParentSpanId == parent.SpanId && s.TraceId == parent.TraceId).OrderBy(s => s.StartTimeUtc).Select(s => s.DisplayName)];
        Activity Child(Activity parent, string name) => Assert.Single(ours, s => s.ParentSpanId == parent.SpanId && s.DisplayName == name);
        object? Tag(Activity span, string key) => span.GetTagItem(key);

        // Opening the link shows the page; pressing its button starts the consent.
        Assert.Equal(new string?[] { "confirm", "redirect" }, ours.Where(s => s.DisplayName == "consent.start").OrderBy(s => s.StartTimeUtc).Select(s => (string?)Tag(s, "outcome")));
        var start = Assert.Single(ours, s => s.DisplayName == "consent.start" && (string?)Tag(s, "outcome") == "redirect");
        Assert.Equal(id, Tag(start, "connection.id"));

        var callback = Assert.Single(ours, s => s.DisplayName == "consent.callback");
        Assert.Equal(id, Tag(callback, "connection.id"));
        Assert.Equal("connected", Tag(callback, "outcome"));
        Assert.Equal(["freshbooks.exchange_code", "freshbooks.identity"], Children(callback));
        Assert.Equal(200, Tag(Child(callback, "freshbooks.exchange_code"), "http.response.status_code"));
        Assert.Equal(ActivityKind.Client, Child(callback, "freshbooks.identity").Kind);

        var sweeps = ours.Where(s => s.DisplayName == "renewal.sweep").OrderBy(s => s.StartTimeUtc).ToList();
        var messages = ours.Where(s => s.DisplayName == "renewal.message").OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(2, sweeps.Count);
        Assert.Equal(2, messages.Count);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(1, Tag(sweeps[i], "due"));
            Assert.Equal(id, Tag(messages[i], "connection.id"));
            var link = Assert.Single(messages[i].Links);
            Assert.Equal(sweeps[i].TraceId, link.Context.TraceId);
            Assert.Equal(sweeps[i].SpanId, link.Context.SpanId);
        }

        var renewals = ours.Where(s => s.DisplayName == "renewal").OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(3, renewals.Count);
        Assert.All(renewals, r => Assert.Equal(["renewal.lease", "freshbooks.refresh", "renewal.save"], Children(r)));
        Assert.All(renewals, r => Assert.Equal(id, Tag(r, "connection.id")));
        Assert.Equal(messages[0].SpanId, renewals[0].ParentSpanId);
        Assert.Equal(("scheduled", "renewed"), (Tag(renewals[0], "reason"), Tag(renewals[0], "outcome")));
        Assert.Equal("acquired", Tag(Child(renewals[0], "renewal.lease"), "outcome"));
        Assert.Equal("renewed", Tag(Child(renewals[0], "renewal.save"), "outcome"));
        Assert.Equal(("rejected_token", "renewed"), (Tag(renewals[1], "reason"), Tag(renewals[1], "outcome")));
        Assert.Equal(messages[1].SpanId, renewals[2].ParentSpanId);
        Assert.Equal("needs_reconsent", Tag(renewals[2], "outcome"));
        var refused = Child(renewals[2], "freshbooks.refresh");
        Assert.Equal((400, "invalid_grant", "invalid_grant"), (Tag(refused, "http.response.status_code"), Tag(refused, "freshbooks.error"), Tag(refused, "outcome")));
        Assert.Equal(ActivityStatusCode.Error, refused.Status);

        var tokenRequests = ours.Where(s => s.DisplayName == "token.request").OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(2, tokenRequests.Count);
        Assert.Equal(("token", "issued"), (Tag(tokenRequests[0], "reason"), Tag(tokenRequests[0], "outcome")));
        Assert.Empty(Children(tokenRequests[0]));
        Assert.Equal(("rejected_token", "issued"), (Tag(tokenRequests[1], "reason"), Tag(tokenRequests[1], "outcome")));
        Assert.Equal(["renewal"], Children(tokenRequests[1]));

        var removal = Assert.Single(ours, s => s.DisplayName == "connection.remove");
        Assert.Equal((id, "removed"), (Tag(removal, "connection.id"), Tag(removal, "outcome")));
        Assert.Contains("freshbooks.revoke", Children(removal));

        // The request records of Start and Callback (the local host's, as the Functions host's in Azure) carry no query string.
        var requests = spans.Where(s => s.Kind == ActivityKind.Server && Tag(s, "url.path") is "/api/connect" or "/api/callback").ToList();
        Assert.Contains(requests, s => Tag(s, "url.path") is "/api/connect");
        Assert.Contains(requests, s => Tag(s, "url.path") is "/api/callback");
        Assert.All(requests, s => Assert.DoesNotContain("?", ExportedTelemetry.Everything(s), StringComparison.Ordinal));
        Assert.All(spans, s => Assert.Null(Tag(s, "url.query")));

        // ---- Metrics: the right outcome on every point.
        var metrics = exported.LatestMetrics();
        long Sum(string name, params (string Key, string Value)[] tags) =>
            Points(metrics[name]).Where(p => tags.All(t => ExportedTelemetry.Tags(p).GetValueOrDefault(t.Key) == t.Value)).Sum(p => p.GetSumLong());
        long Count(string name, params (string Key, string Value)[] tags) =>
            Points(metrics[name]).Where(p => tags.All(t => ExportedTelemetry.Tags(p).GetValueOrDefault(t.Key) == t.Value)).Sum(p => p.GetHistogramCount());

        Assert.Equal(2, Sum("freshbooks.renewals", ("outcome", "renewed")));
        Assert.Equal(1, Sum("freshbooks.renewals", ("outcome", "needs_reconsent")));
        Assert.Equal(0, Sum("freshbooks.renewals", ("outcome", "failed")));
        Assert.Equal(2, Count("freshbooks.refresh.duration", ("outcome", "success")));
        Assert.Equal(1, Count("freshbooks.refresh.duration", ("outcome", "invalid_grant")));
        Assert.Equal(1, Sum("freshbooks.consents", ("outcome", "connected")));
        Assert.Equal(1, Sum("freshbooks.token_requests", ("reason", "token"), ("outcome", "issued")));
        Assert.Equal(1, Sum("freshbooks.token_requests", ("reason", "rejected_token"), ("outcome", "issued")));
        Assert.Equal(2, Count("freshbooks.token_request.duration"));
        Assert.Equal(2, Count("freshbooks.sweep.due"));
        Assert.Equal(receiver.Acknowledged.Count, Sum("freshbooks.event_deliveries", ("outcome", "delivered")));
        Assert.Equal(new Dictionary<string, long> { ["active"] = 0, ["needs_reconsent"] = 1, ["removing"] = 0 }, afterReconsent);
        Assert.Equal(new Dictionary<string, long> { ["active"] = 0, ["needs_reconsent"] = 0, ["removing"] = 0 }, Gauge(metrics["freshbooks.connections"]));

        // ---- No issued token, code, state, link or key in any span, log record or metric tag; no Start or Callback query in a log.
        var logs = exported.Logs;
        Assert.Contains(logs, l => l.EventId == 2002 && l.Message.Contains(id, StringComparison.Ordinal));
        Assert.Contains(logs, l => l.EventId == 3007);
        var leaks = (from secret in secrets
                     from form in Probe.Forms(secret.Value)
                     from place in spans.Select(s => ($"span {s.DisplayName}", ExportedTelemetry.Everything(s)))
                         .Concat(logs.Select(l => ($"log {l}", l.Everything)))
                         .Concat(exported.AllMetrics().Select(m => ($"metric {m.Name}", ExportedTelemetry.Everything(m))))
                     where place.Item2.Contains(form, StringComparison.Ordinal)
                     select $"{secret.Key} in {place.Item1}").Distinct().ToList();
        Assert.True(leaks.Count == 0, "secrets exported:\n" + string.Join('\n', leaks));
        Assert.DoesNotContain(logs, l => l.Everything.Contains("/api/callback?", StringComparison.Ordinal) || l.Everything.Contains("/api/connect?", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_an_OTLP_endpoint_set_spans_metrics_and_logs_go_to_that_collector_without_the_link_code_or_state()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        var app = await stack.StartAppAsync(
            configure: s =>
            {
                s["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint.AbsoluteUri;
                s["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            },
            withSettings: (services, configuration) => services.AddFreshBooksConnectTelemetry(configuration));

        var (url, _) = await app.CreateLinkAsync("otlp");
        var redirect = await stack.Emulator.ApproveAsync(await app.StartAsync(url));
        Assert.Equal(HttpStatusCode.OK, (await app.CallbackAsync(redirect)).Status);
        Assert.True(app.Services.GetRequiredService<TracerProvider>().ForceFlush());
        Assert.True(app.Services.GetRequiredService<MeterProvider>().ForceFlush());
        Assert.True(app.Services.GetRequiredService<LoggerProvider>().ForceFlush());

        var exports = collector.Exports;
        Assert.Equal(["logs", "metrics", "traces"], exports.Select(e => e.Signal).Distinct().Order(StringComparer.Ordinal));
        Assert.All(exports, e => Assert.Equal("application/x-protobuf", e.ContentType));
        var wire = string.Join('\n', exports.Select(e => Encoding.UTF8.GetString(e.Body)));
        Assert.Contains("consent.callback", wire, StringComparison.Ordinal);
        Assert.Contains("freshbooks.consents", wire, StringComparison.Ordinal);
        var query = HttpUtility.ParseQueryString(redirect.Query);
        foreach (var secret in new[] { Probe.LinkToken(url), query["code"]!, query["state"]! })
        {
            Assert.DoesNotContain(secret, wire, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task With_a_summary_interval_the_log_gets_one_line_of_renewals_consents_token_requests_and_connections_each_interval()
    {
        var capture = new CapturingLoggerProvider();
        var app = await stack.StartAppAsync(
            configure: s => s["Telemetry:SummaryInterval"] = "00:00:01",
            services: s => s.AddLogging(b => b.AddProvider(capture)),
            withSettings: (services, configuration) => services.AddFreshBooksConnectTelemetry(configuration));

        var (_, _, id) = await app.ConnectAsync("summary");
        await app.Host.InvokeAsync("CountConnections");
        await app.GetJsonAsync($"api/connections/{id}/token");

        // Real time: the summary runs on its own reader's timer.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        CapturedLog? line;
        while ((line = capture.Logs.FirstOrDefault(l => l.EventId.Id == 6001 && l.Message.Contains("1 consents (1 connected)", StringComparison.Ordinal))) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "no summary line: " + string.Join('\n', capture.Logs.Where(l => l.EventId.Id == 6001)));
            await Task.Delay(200);
        }

        Assert.Contains("connections: 1 active, 0 needs_reconsent, 0 removing", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line.Message);
    }

    private static IEnumerable<MetricPoint> Points(MetricSnapshot metric) => metric.MetricPoints;

    private static Dictionary<string, long> Gauge(MetricSnapshot metric) =>
        metric.MetricPoints.ToDictionary(p => ExportedTelemetry.Tags(p)["status"], p => p.GetGaugeLastValueLong());

    private static void AddTokens(Dictionary<string, string> secrets, string when, Connection connection)
    {
        secrets[$"access token ({when})"] = connection.AccessToken;
        secrets[$"refresh token ({when})"] = connection.RefreshToken;
    }

    private async Task RevokeAtFreshBooksAsync(string refreshToken)
    {
        using var http = new HttpClient { BaseAddress = stack.Emulator.BaseUri };
        using var response = await http.PostAsJsonAsync("auth/oauth/revoke", new { client_id = ConnectStack.ClientId, client_secret = ConnectStack.ClientSecret, token = refreshToken });
        response.EnsureSuccessStatusCode();
    }
}

/// <summary>A stack of its own, run when no other collection runs: telemetry listens process-wide.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection : ICollectionFixture<ConnectStack>
{
    public const string Name = "Telemetry";
}
