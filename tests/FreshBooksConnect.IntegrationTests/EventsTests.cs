using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FreshBooks.Emulator;
using FreshBooksConnect.Storage;
using Microsoft.AspNetCore.Http;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// Connection events end to end: the app with a webhook, a real receiver on loopback that verifies every signature with the
/// StandardWebhooks package, the emulator and Azurite. Each state change makes exactly its event; none is lost when the
/// receiver is down or an instance stops before delivering; two instances never deliver one event twice.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class EventsTests(ConnectStack stack) : IAsyncLifetime
{
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        await stack.ResetStorageAsync();
        _receiver = await WebhookReceiver.StartAsync();
    }

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    private Task<AppInstance> StartAppAsync(Action<Dictionary<string, string?>>? configure = null) =>
        stack.StartAppAsync(
            s =>
            {
                s["Events:WebhookUrl"] = _receiver.Url.AbsoluteUri;
                s["Events:SigningSecret"] = WebhookReceiver.Secret;
                s["Events:FailingAfter"] = "00:10:00";
                configure?.Invoke(s);
            },
            instanceOf: stack.App);

    [Fact]
    public async Task Each_state_change_makes_exactly_its_event_in_order_signed_and_without_a_secret()
    {
        var app = await StartAppAsync();
        var secrets = new List<string> { ConnectStack.ClientSecret, stack.EncryptionKey, stack.SigningKey, WebhookReceiver.Secret };

        // created, reconnected (same identity), identity_changed (another identity)
        var (_, _, id) = await app.ConnectAsync("lifecycle");
        secrets.Add((await RenewalDriver.ConnectionAsync(app, id)).RefreshToken);
        await app.ConnectAsync("lifecycle");
        await app.ConnectAsync("lifecycle", ConnectStack.SecondUser.Id, allowIdentityChange: true);
        var connection = await RenewalDriver.ConnectionAsync(app, id);
        secrets.AddRange([connection.AccessToken, connection.RefreshToken]);

        // needs_reconsent: the customer disconnected the app in FreshBooks; recovered: they consented again.
        await RevokeAsync(connection.RefreshToken);
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        await RenewalDriver.SweepAndRenewAsync(stack, app);
        await RenewalDriver.SweepAndRenewAsync(stack, app);
        await app.ConnectAsync("lifecycle", ConnectStack.SecondUser.Id);

        // renewal_failing: FreshBooks fails every renewal for longer than Events__FailingAfter; recovered when one succeeds.
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        for (var i = 0; i < 12; i++)
        {
            stack.Emulator.Faults.EnqueueToken(TokenFault.ServerError);
        }

        for (var round = 0; round < 4; round++)
        {
            await RenewalDriver.SweepAndRenewAsync(stack, app);
            stack.Clock.Advance(TimeSpan.FromMinutes(9));
        }

        stack.Emulator.Faults.Clear();
        stack.Clock.Advance(TimeSpan.FromMinutes(31));
        await RenewalDriver.SweepAndRenewAsync(stack, app);

        // deleted
        using (var deleted = await app.Api.DeleteAsync($"api/connections/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await RenewalDriver.DeliverEventsAsync(stack, app);

        var received = _receiver.Acknowledged.Where(d => d.ConnectionId == id).ToList();
        Assert.Equal(
            ["connection.created", "connection.reconnected", "connection.identity_changed", "connection.needs_reconsent", "connection.recovered",
             "connection.renewal_failing", "connection.recovered", "connection.deleted"],
            received.Select(d => d.Type));
        Assert.All(received, d => Assert.True(d.Verified, $"{d.Type}: signature did not verify"));
        Assert.All(received, d => Assert.Equal(d.Id, d.WebhookId));
        Assert.Equal(received.Count, received.Select(d => d.Id).Distinct().Count());
        foreach (var delivery in _receiver.Deliveries)
        {
            Assert.DoesNotContain(secrets, s => delivery.Payload.Contains(s, StringComparison.Ordinal));
        }

        Assert.Equal(EmulatedUser.Default.Id, received[2].Data.GetProperty("previousIdentityId").GetInt64());
        Assert.Equal(ConnectStack.SecondUser.Id, received[2].Data.GetProperty("identityId").GetInt64());
        Assert.StartsWith("invalid_grant", received[3].Data.GetProperty("reason").GetString());
        Assert.Equal("needs-reconsent", received[3].Data.GetProperty("status").GetString());
        Assert.True(received[5].Data.GetProperty("failedAttempts").GetInt32() >= 2);
        Assert.Equal("deleted", received[7].Data.GetProperty("status").GetString());
        Assert.Empty(await stack.OutboxRowsAsync());

        // The feed has the same events, in the same order, once settled.
        stack.Clock.Advance(TimeSpan.FromSeconds(11));
        var feed = await app.GetJsonAsync("api/events?limit=200");
        Assert.Equal(received.Select(d => d.Id), feed.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetString()).Where(e => received.Any(d => d.Id == e)));
    }

    [Fact]
    public async Task A_receiver_that_refuses_fails_and_hangs_for_a_while_gets_every_event_once_it_is_back_in_order()
    {
        var app = await StartAppAsync(s => s["Events:DeliveryTimeout"] = "00:00:01");
        await _receiver.StopAsync();
        var (_, _, first) = await app.ConnectAsync("outage-a");
        var (_, _, second) = await app.ConnectAsync("outage-b");
        await RenewalDriver.DeliverEventsAsync(stack, app);

        // Refused, then 500s, then a hang past the sender's time-out: every try waits longer (5 s, 1 min, 10 min, ...).
        await app.ConnectAsync("outage-a");
        await _receiver.RestartAsync();
        _receiver.Answer = StatusCodes.Status500InternalServerError;
        await DeliverDueAsync(app, TimeSpan.FromSeconds(6));
        _receiver.Answer = WebhookReceiver.Hang;
        await DeliverDueAsync(app, TimeSpan.FromMinutes(2));
        Assert.Empty(_receiver.Acknowledged);

        _receiver.Answer = StatusCodes.Status200OK;
        await DeliverDueAsync(app, TimeSpan.FromMinutes(11));

        var received = _receiver.Acknowledged;
        Assert.Equal(["connection.created", "connection.reconnected"], received.Where(d => d.ConnectionId == first).Select(d => d.Type));
        Assert.Equal(["connection.created"], received.Where(d => d.ConnectionId == second).Select(d => d.Type));
        Assert.Equal(received.Count, received.Select(d => d.Id).Distinct().Count());
        Assert.All(_receiver.Deliveries, d => Assert.True(d.Verified));
        Assert.Empty(await stack.OutboxRowsAsync());
    }

    [Fact]
    public async Task An_event_written_by_an_instance_that_stopped_before_any_delivery_is_delivered_by_another()
    {
        // The instance's queue messages never leave it (its fast path fails), then it stops: only storage knows the event.
        // (An app of its own, so FreshBooks sends the consent back to this instance.)
        var faults = new StorageFaults();
        var gone = await stack.StartAppAsync(
            s =>
            {
                s["Events:WebhookUrl"] = _receiver.Url.AbsoluteUri;
                s["Events:SigningSecret"] = WebhookReceiver.Secret;
            },
            services: faults.AddTo);
        faults.Fail(StorageFaults.EnqueueTo(StorageOptions.EventQueueName));
        var (_, _, id) = await gone.ConnectAsync("orphaned");
        Assert.True(faults.RequestsFailed > 0, "the fast path was never refused");
        await gone.DisposeAsync();
        Assert.Equal(0, await RenewalDriver.DeliverEventsAsync(stack, stack.App));

        var survivor = await StartAppAsync();
        stack.Clock.Advance(TimeSpan.FromMinutes(2));
        await survivor.Host.InvokeAsync("EventSweep");
        await RenewalDriver.DeliverEventsAsync(stack, survivor);

        var delivery = Assert.Single(_receiver.Acknowledged);
        Assert.Equal(("connection.created", id), (delivery.Type, delivery.ConnectionId));
    }

    [Fact]
    public async Task Two_instances_delivering_at_once_deliver_each_event_once()
    {
        var first = await StartAppAsync();
        var second = await StartAppAsync();
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add((await (i % 2 == 0 ? first : second).ConnectAsync($"pair{i % 4}")).ConnectionId);
        }

        // Both drain the queue and sweep the reminders at the same time, several times over.
        stack.Clock.Advance(TimeSpan.FromMinutes(2));
        await Task.WhenAll(
            RenewalDriver.DeliverEventsAsync(stack, first, second),
            first.Host.InvokeAsync("EventSweep"),
            second.Host.InvokeAsync("EventSweep"));
        stack.Clock.Advance(TimeSpan.FromMinutes(3));
        await Task.WhenAll(first.Host.InvokeAsync("EventSweep"), second.Host.InvokeAsync("EventSweep"));
        await RenewalDriver.DeliverEventsAsync(stack, first, second);
        await Task.Delay(TimeSpan.FromSeconds(6));
        await RenewalDriver.DeliverEventsAsync(stack, first, second);

        var received = _receiver.Acknowledged;
        Assert.Equal(12, received.Count);
        Assert.Equal(received.Count, received.Select(d => d.Id).Distinct().Count());
        foreach (var tenant in Enumerable.Range(0, 4).Select(i => $"t-pair{i}"))
        {
            Assert.Equal(["connection.created", "connection.reconnected", "connection.reconnected"], received.Where(d => d.ConnectionId == tenant).Select(d => d.Type));
        }

        Assert.Empty(await stack.OutboxRowsAsync());
    }

    [Fact]
    public async Task An_event_given_up_is_listed_as_failed_and_a_redelivery_brings_it_with_its_id()
    {
        var app = await StartAppAsync(s => s["Events:GiveUpAfter"] = "00:05:00");
        _receiver.Answer = StatusCodes.Status503ServiceUnavailable;
        var (_, _, id) = await app.ConnectAsync("given-up");
        await RenewalDriver.DeliverEventsAsync(stack, app);
        await DeliverDueAsync(app, TimeSpan.FromMinutes(2));
        await DeliverDueAsync(app, TimeSpan.FromMinutes(11));

        var failed = (await app.GetJsonAsync("api/events/failed")).GetProperty("events").EnumerateArray().ToList();
        var entry = Assert.Single(failed);
        var eventId = entry.GetProperty("event").GetProperty("id").GetString()!;
        Assert.Equal("503", entry.GetProperty("lastError").GetString());
        Assert.Empty(_receiver.Acknowledged);

        _receiver.Answer = StatusCodes.Status200OK;
        using (var redeliver = await app.Api.PostAsync($"api/events/{eventId}/redeliver", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, redeliver.StatusCode);
        }

        await RenewalDriver.DeliverEventsAsync(stack, app);
        var delivered = Assert.Single(_receiver.Acknowledged);
        Assert.Equal((eventId, eventId, id), (delivered.Id, delivered.WebhookId, delivered.ConnectionId));
        Assert.Empty((await app.GetJsonAsync("api/events/failed")).GetProperty("events").EnumerateArray());
        await app.GetJsonAsync($"api/events/{eventId}/redeliver", HttpStatusCode.MethodNotAllowed);
        using (var again = await app.Api.PostAsync($"api/events/{eventId}/redeliver", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }
    }

    [Fact]
    public async Task A_receiver_that_answers_410_gets_no_more_and_the_feed_keeps_every_event()
    {
        var app = await StartAppAsync();
        _receiver.Answer = StatusCodes.Status410Gone;
        await app.ConnectAsync("gone-a");
        await RenewalDriver.DeliverEventsAsync(stack, app);
        await app.ConnectAsync("gone-b");
        await RenewalDriver.DeliverEventsAsync(stack, app);

        Assert.Single(_receiver.Deliveries);
        stack.Clock.Advance(TimeSpan.FromSeconds(11));
        var feed = await app.GetJsonAsync("api/events");
        Assert.Equal(["t-gone-a", "t-gone-b"], feed.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("data").GetProperty("connectionId").GetString()));
    }

    [Fact]
    public async Task The_feed_reads_on_from_its_cursor_without_a_webhook()
    {
        var app = stack.App;
        for (var i = 0; i < 5; i++)
        {
            await app.ConnectAsync($"feed{i}");
        }

        await RenewalDriver.DeliverEventsAsync(stack, app);
        stack.Clock.Advance(TimeSpan.FromSeconds(11));
        var first = await app.GetJsonAsync("api/events?limit=3");
        var cursor = first.GetProperty("cursor").GetString()!;
        var rest = await app.GetJsonAsync($"api/events?after={cursor}&limit=3");
        var nothing = await app.GetJsonAsync($"api/events?after={rest.GetProperty("cursor").GetString()}");

        // In the order they were recorded for delivery (one connection's events always in the order they happened).
        var tenants = first.GetProperty("events").EnumerateArray().Concat(rest.GetProperty("events").EnumerateArray())
            .Select(e => e.GetProperty("data").GetProperty("tenantId").GetString());
        Assert.Equal(["feed0", "feed1", "feed2", "feed3", "feed4"], tenants.Order());
        Assert.Empty(nothing.GetProperty("events").EnumerateArray());
        Assert.Equal(rest.GetProperty("cursor").GetString(), nothing.GetProperty("cursor").GetString());
        Assert.Empty(_receiver.Deliveries);
    }

    [Theory]
    [InlineData("api/events?limit=0")]
    [InlineData("api/events?limit=201")]
    [InlineData("api/events?limit=abc")]
    [InlineData("api/events?limit=1&limit=2")]
    [InlineData("api/events?after=not-a-cursor")]
    [InlineData("api/events?after=aGVsbG8")]
    [InlineData("api/events/failed?limit=-1")]
    public async Task Bad_paging_on_the_event_routes_is_a_400_problem_and_changes_nothing(string path)
    {
        var before = await Probe.SnapshotAsync(stack);

        var problem = await stack.App.GetJsonAsync(path, HttpStatusCode.BadRequest);

        Assert.Equal("urn:freshbooks-connect:problem:invalid-paging", problem.GetProperty("type").GetString());
        Assert.Equal(before, await Probe.SnapshotAsync(stack));
    }

    [Theory]
    [InlineData("evt_123", HttpStatusCode.BadRequest)]
    [InlineData("evt_0123456789ABCDEF0123456789abcdef", HttpStatusCode.BadRequest)]
    [InlineData("..%2F..%2Fconnections", HttpStatusCode.BadRequest)]
    [InlineData("evt_0123456789abcdef0123456789abcdef", HttpStatusCode.NotFound)]
    public async Task A_redelivery_of_a_bad_or_unknown_event_id_is_refused_and_changes_nothing(string id, HttpStatusCode expected)
    {
        var before = await Probe.SnapshotAsync(stack);

        using var response = await stack.App.Api.PostAsync($"api/events/{id}/redeliver", null);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await Probe.SnapshotAsync(stack));
    }

    /// <summary>Moves the clock past the next retry, runs the event sweep, and delivers what it enqueued.</summary>
    private async Task DeliverDueAsync(AppInstance app, TimeSpan advance)
    {
        stack.Clock.Advance(advance);
        await app.Host.InvokeAsync("EventSweep");
        await RenewalDriver.DeliverEventsAsync(stack, app);
    }

    private async Task RevokeAsync(string refreshToken)
    {
        using var http = new HttpClient { BaseAddress = stack.Emulator.BaseUri };
        using var response = await http.PostAsJsonAsync("auth/oauth/revoke", new { client_id = ConnectStack.ClientId, client_secret = ConnectStack.ClientSecret, token = refreshToken });
        response.EnsureSuccessStatusCode();
    }
}
