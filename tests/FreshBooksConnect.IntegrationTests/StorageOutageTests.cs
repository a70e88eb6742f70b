using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Core;
using FreshBooks.Emulator;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>An Azurite that keeps its data on disk, so a test can stop it and start it again on the same ports.</summary>
public sealed class OnDiskConnectStack() : ConnectStack(storageOnDisk: true);

[CollectionDefinition(Name)]
public sealed class OutageCollection : ICollectionFixture<OnDiskConnectStack>
{
    public const string Name = "Storage outages";
}

/// <summary>
/// Storage failing the way it does in production (the service stopped and restarted; one instance cut off from it; answers
/// lost after the write landed): no received token pair is lost, no grant is revoked by mistake, every answer is a clear 503.
/// </summary>
[Collection(OutageCollection.Name)]
public sealed class StorageOutageTests(OnDiskConnectStack stack) : IAsyncLifetime
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(60);

    public async Task InitializeAsync()
    {
        await stack.Azurite.RestartAsync();
        await stack.ResetStorageAsync();
    }

    public Task DisposeAsync() => stack.Azurite.RestartAsync();

    [Fact]
    public async Task A_pair_received_just_before_a_60_second_outage_is_served_from_memory_and_saved_when_storage_returns()
    {
        var hooks = new FreshBooksHooks();
        var logs = new CapturingLoggerProvider();
        var app = await stack.StartAppAsync(services: s =>
        {
            hooks.AddTo(s);
            s.AddLogging(b => b.AddProvider(logs));
        });
        var (_, _, id) = await app.ConnectAsync("outage");
        var before = await RenewalDriver.ConnectionAsync(app, id);
        stack.Clock.Advance(TimeSpan.FromHours(11) + TimeSpan.FromMinutes(57));
        hooks.AfterRefresh = _ => stack.Azurite.StopAsync();

        // The token API renews inline; storage dies between FreshBooks' answer and the save.
        var token = await app.GetJsonAsync($"api/connections/{id}/token");
        hooks.AfterRefresh = null;
        var served = token.GetProperty("accessToken").GetString()!;
        Assert.NotEqual(before.AccessToken, served);
        Assert.True(stack.Emulator.IsAccessTokenValid(served));

        // While storage is down this instance keeps serving the new token; routes that need storage answer 503.
        var again = await app.GetJsonAsync($"api/connections/{id}/token");
        Assert.Equal(served, again.GetProperty("accessToken").GetString());
        await AssertUnavailableAsync(app, HttpMethod.Get, $"api/connections/{id}");

        await Task.Delay(Outage);
        await stack.Azurite.RestartAsync();

        var saved = await WaitForAsync(app, id, c => c.TokenGeneration == 2, TimeSpan.FromSeconds(60));
        Assert.Equal(served, saved.AccessToken);
        Assert.Null(saved.LeaseOwner);
        Assert.Equal(ConnectionStatus.Active, saved.Status);
        Assert.Equal(served, (await app.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString());
        Assert.DoesNotContain(logs.Logs, l => l.EventId.Id == 2004);
        Assert.DoesNotContain(stack.Emulator.Misuses, m => m.Kind == MisuseKind.ReusedRefreshToken);

        // And it renews again afterwards.
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        await RenewalDriver.SweepAndRenewAsync(stack, app);
        var next = await RenewalDriver.ConnectionAsync(app, id);
        Assert.Equal(3, next.TokenGeneration);
        Assert.True(stack.Emulator.IsAccessTokenValid(next.AccessToken));
        Assert.DoesNotContain(stack.Emulator.Misuses, m => m.Kind == MisuseKind.ReusedRefreshToken);
    }

    [Fact]
    public async Task Another_instance_neither_refreshes_nor_serves_the_old_token_while_the_new_pair_waits_to_be_saved()
    {
        var hooks = new FreshBooksHooks();
        var faults = new StorageFaults();
        var first = await stack.StartAppAsync(services: s =>
        {
            hooks.AddTo(s);
            faults.AddTo(s);
        });
        var second = await stack.StartAppAsync(instanceOf: first);
        var (_, _, id) = await first.ConnectAsync("partitioned");
        var before = await RenewalDriver.ConnectionAsync(first, id);
        stack.Clock.Advance(TimeSpan.FromHours(11) + TimeSpan.FromMinutes(57));
        hooks.AfterRefresh = _ =>
        {
            faults.Partition();
            return Task.CompletedTask;
        };

        // The first instance is cut off from storage right after FreshBooks answered its refresh.
        var served = (await first.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!;
        hooks.AfterRefresh = null;
        Assert.NotEqual(before.AccessToken, served);

        // Its lease runs out; the second instance sees it unreleased and answers 503 rather than refresh or serve the old token.
        stack.Clock.Advance(TimeSpan.FromMinutes(4));
        stack.Emulator.ResetLog();
        using (var refused = await second.Api.GetAsync($"api/connections/{id}/token"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.DoesNotContain(before.AccessToken, await refused.Content.ReadAsStringAsync());
        }

        await RenewalDriver.SweepAndRenewAsync(stack, second);
        Assert.DoesNotContain(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);

        faults.Heal();
        var saved = await WaitForAsync(second, id, c => c.TokenGeneration == 2 && c.LeaseOwner is null, TimeSpan.FromSeconds(60));
        Assert.Equal(served, saved.AccessToken);
        Assert.Equal(served, (await second.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString());
        Assert.DoesNotContain(stack.Emulator.Misuses, m => m.Kind == MisuseKind.ReusedRefreshToken);
    }

    [Fact]
    public async Task When_another_instance_does_refresh_the_spent_token_the_connection_still_ends_with_the_newest_pair()
    {
        var hooks = new FreshBooksHooks();
        var faults = new StorageFaults();
        var first = await stack.StartAppAsync(services: s =>
        {
            hooks.AddTo(s);
            faults.AddTo(s);
        });

        // An instance that waits for no unsaved pair: it refreshes as soon as the first instance's lease has run out.
        var impatient = await stack.StartAppAsync(configure: s => s["Renewal:SaveTimeout"] = "00:00:01", instanceOf: first);
        var (_, _, id) = await first.ConnectAsync("overtaken");
        stack.Clock.Advance(TimeSpan.FromHours(11) + TimeSpan.FromMinutes(57));
        hooks.AfterRefresh = _ =>
        {
            faults.Partition();
            return Task.CompletedTask;
        };
        var served = (await first.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!;
        hooks.AfterRefresh = null;

        stack.Clock.Advance(TimeSpan.FromMinutes(4));
        using (var refused = await impatient.Api.GetAsync($"api/connections/{id}/token"))
        {
            // Its refresh spends a spent token: FreshBooks refuses it, and the old access token is dead too.
            Assert.NotEqual(HttpStatusCode.OK, refused.StatusCode);
        }

        Assert.Contains(stack.Emulator.Misuses, m => m.Kind == MisuseKind.ReusedRefreshToken);
        faults.Heal();
        var saved = await WaitForAsync(first, id, c => c.AccessToken == served && c.LeaseOwner is null, TimeSpan.FromSeconds(60));
        Assert.Equal(ConnectionStatus.Active, saved.Status);
        Assert.True(stack.Emulator.IsAccessTokenValid(saved.AccessToken));
        Assert.Equal(served, (await impatient.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString());
    }

    [Fact]
    public async Task During_an_outage_every_route_answers_503_and_a_fresh_grant_is_revoked_rather_than_left_live()
    {
        var hooks = new FreshBooksHooks();

        // The link outlives the 11.5 hours this test moves the clock (links live 1 hour unless configured).
        var app = await stack.StartAppAsync(configure: s => s["Onboarding:LinkLifetime"] = "1.00:00:00", services: hooks.AddTo);
        var (_, _, id) = await app.ConnectAsync("dark");
        var (link, _) = await app.CreateLinkAsync("late-comer");
        var consent = await app.StartAsync(link);
        var redirect = await stack.Emulator.ApproveAsync(consent);
        var grantsBefore = stack.Emulator.LiveGrantCount;
        var connection = await RenewalDriver.ConnectionAsync(app, id);
        stack.Clock.Advance(TimeSpan.FromHours(11.5));

        await stack.Azurite.StopAsync();
        try
        {
            await AssertUnavailableAsync(app, HttpMethod.Get, $"api/connections/{id}/token");
            await AssertUnavailableAsync(app, HttpMethod.Post, $"api/connections/{id}/refresh", new { accessToken = connection.AccessToken });
            await AssertUnavailableAsync(app, HttpMethod.Get, $"api/connections/{id}");
            await AssertUnavailableAsync(app, HttpMethod.Get, "api/connections");
            await AssertUnavailableAsync(app, HttpMethod.Delete, $"api/connections/{id}");

            // The browser routes show a page.
            using (var start = await app.Browser.GetAsync(link))
            {
                await AssertUnavailablePageAsync(start);
            }

            using (var callback = await app.Browser.GetAsync(redirect))
            {
                await AssertUnavailablePageAsync(callback);
            }

            // The timer and the queue function run without failing (a failed queue message would end in the poison queue).
            await RenewalDriver.SweepAsync(app);
            await app.Host.InvokeAsync("RenewConnection", RenewalDriver.MessageFor(id, connection.NextRenewalAt!.Value));
        }
        finally
        {
            await stack.Azurite.RestartAsync();
        }

        Assert.Equal(grantsBefore, stack.Emulator.LiveGrantCount);
        Assert.DoesNotContain(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token && c.GrantType == "refresh_token");
        Assert.Equal(1, await RenewalDriver.SweepAndRenewAsync(stack, app));
        Assert.Equal(2, (await RenewalDriver.ConnectionAsync(app, id)).TokenGeneration);

        // Storage goes down after FreshBooks issued a grant for a new consent: the grant is revoked, the page says try again.
        var (secondLink, secondId) = await app.CreateLinkAsync("unlucky");
        var secondConsent = await app.StartAsync(secondLink);
        var secondRedirect = await stack.Emulator.ApproveAsync(secondConsent);
        string? issued = null;
        hooks.AfterExchange = async grant =>
        {
            issued = grant.AccessToken;
            await stack.Azurite.StopAsync();
        };
        try
        {
            using var callback = await app.Browser.GetAsync(secondRedirect);
            await AssertUnavailablePageAsync(callback);
        }
        finally
        {
            hooks.AfterExchange = null;
            await stack.Azurite.RestartAsync();
        }

        Assert.NotNull(issued);
        Assert.False(stack.Emulator.IsAccessTokenValid(issued));
        Assert.Equal(grantsBefore, stack.Emulator.LiveGrantCount);
        await app.GetJsonAsync($"api/connections/{secondId}", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_instance_that_starts_while_storage_is_down_answers_503_then_works_when_storage_returns()
    {
        var (_, _, id) = await stack.App.ConnectAsync("late-start");
        await stack.Azurite.StopAsync();
        AppInstance app;
        try
        {
            app = await stack.StartAppAsync(instanceOf: stack.App);
            await app.GetJsonAsync("api/health");
            await AssertUnavailableAsync(app, HttpMethod.Get, $"api/connections/{id}/token");
        }
        finally
        {
            await stack.Azurite.RestartAsync();
        }

        Assert.Equal("active", (await app.GetJsonAsync($"api/connections/{id}")).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("connection insert")]
    [InlineData("connection replace")]
    [InlineData("consent state add")]
    [InlineData("consent state take")]
    public async Task A_consent_whose_storage_answer_is_lost_once_ends_as_if_the_answer_had_arrived(string write)
    {
        var faults = new StorageFaults();
        var app = await stack.StartAppAsync(services: faults.AddTo);
        string? replacedToken = null;
        if (write == "connection replace")
        {
            await app.ConnectAsync("lossy");
            replacedToken = (await RenewalDriver.ConnectionAsync(app, "t-lossy")).AccessToken;
        }

        var grantsBefore = stack.Emulator.LiveGrantCount;
        faults.DropAnswer(write switch
        {
            // A consent's write carries its event (created, reconnected): one entity-group transaction.
            "connection insert" or "connection replace" => StorageFaults.To("$batch", RequestMethod.Post),
            "consent state add" => StorageFaults.To(StorageOptions.ConsentStatesTableName, RequestMethod.Post),
            _ => StorageFaults.To(StorageOptions.ConsentStatesTableName, RequestMethod.Put),
        });

        var (status, page, id) = await app.ConnectAsync("lossy");

        Assert.Equal(1, faults.AnswersDropped);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("FreshBooks is connected", page);
        var stored = await RenewalDriver.ConnectionAsync(app, id);
        Assert.True(stack.Emulator.IsAccessTokenValid(stored.AccessToken), "the stored grant was revoked");
        Assert.Equal(replacedToken is null ? grantsBefore + 1 : grantsBefore, stack.Emulator.LiveGrantCount);
        Assert.Equal(replacedToken is null ? 1 : 2, stored.TokenGeneration);
        if (replacedToken is not null)
        {
            Assert.False(stack.Emulator.IsAccessTokenValid(replacedToken), "the replaced grant is still live");
        }

        Assert.Single(await stack.RowsAsync(StorageOptions.RenewalIndexTableName));
    }

    [Theory]
    [InlineData("lease")]
    [InlineData("renewal save")]
    [InlineData("index schedule")]
    [InlineData("index remove")]
    [InlineData("index mark")]
    [InlineData("enqueue")]
    public async Task A_renewal_whose_storage_answer_is_lost_once_ends_as_if_the_answer_had_arrived(string write)
    {
        var faults = new StorageFaults();
        var app = await stack.StartAppAsync(services: faults.AddTo);
        var (_, _, id) = await app.ConnectAsync("renewed-lossy");
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        stack.Emulator.ResetLog();
        faults.DropAnswer(write switch
        {
            "lease" => StorageFaults.To(StorageOptions.ConnectionsTableName, RequestMethod.Patch),
            "renewal save" => StorageFaults.To(StorageOptions.ConnectionsTableName, RequestMethod.Put),
            "index schedule" => StorageFaults.To(StorageOptions.RenewalIndexTableName, RequestMethod.Put),
            "index remove" => StorageFaults.To(StorageOptions.RenewalIndexTableName, RequestMethod.Delete),
            "index mark" => StorageFaults.To("$batch", RequestMethod.Post),
            _ => StorageFaults.Enqueue(),
        });

        await RenewalDriver.SweepAsync(app);
        await RenewalDriver.DrainQueueAsync(stack, app);

        Assert.Equal(1, faults.AnswersDropped);
        var renewed = await RenewalDriver.ConnectionAsync(app, id);
        Assert.Equal(2, renewed.TokenGeneration);
        Assert.Null(renewed.LeaseOwner);
        Assert.True(stack.Emulator.IsAccessTokenValid(renewed.AccessToken));
        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token && c.GrantType == "refresh_token");
        Assert.DoesNotContain(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Revoke);
        var entry = Assert.Single(await stack.RowsAsync(StorageOptions.RenewalIndexTableName));
        Assert.Equal(renewed.NextRenewalAt, entry.GetDateTimeOffset("RenewAt"));
    }

    [Fact]
    public async Task A_delete_whose_storage_answer_is_lost_once_still_answers_204()
    {
        var faults = new StorageFaults();
        var app = await stack.StartAppAsync(services: faults.AddTo);
        var (_, _, id) = await app.ConnectAsync("deleted-lossy");
        var connection = await RenewalDriver.ConnectionAsync(app, id);
        // The delete and its connection.deleted event: one entity-group transaction.
        faults.DropAnswer(StorageFaults.To("$batch", RequestMethod.Post));

        using var response = await app.Api.DeleteAsync($"api/connections/{id}");

        Assert.Equal(1, faults.AnswersDropped);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Empty(await stack.ConnectionRowsAsync());
        Assert.False(stack.Emulator.IsAccessTokenValid(connection.AccessToken));
    }

    [Fact]
    public async Task A_delete_that_cannot_finish_after_the_revoke_never_serves_the_revoked_token()
    {
        var app = await stack.StartAppAsync();
        var (_, _, id) = await app.ConnectAsync("half-deleted");
        var connection = await RenewalDriver.ConnectionAsync(app, id);

        // The instance that deletes is cut off from storage right after the grant was revoked, before the row is deleted.
        var hooks = new FreshBooksHooks();
        var faults = new StorageFaults();
        var deleter = await stack.StartAppAsync(services: s =>
        {
            hooks.AddTo(s);
            faults.AddTo(s);
        }, instanceOf: app);
        hooks.AfterRevoke = () =>
        {
            faults.Partition();
            return Task.CompletedTask;
        };
        using (var response = await deleter.Api.DeleteAsync($"api/connections/{id}"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        hooks.AfterRevoke = null;
        faults.Heal();
        Assert.False(stack.Emulator.IsAccessTokenValid(connection.AccessToken));
        using (var token = await app.Api.GetAsync($"api/connections/{id}/token"))
        {
            Assert.NotEqual(HttpStatusCode.OK, token.StatusCode);
            Assert.DoesNotContain(connection.AccessToken, await token.Content.ReadAsStringAsync());
        }

        // Asking again finishes the removal.
        using (var again = await app.Api.DeleteAsync($"api/connections/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        }

        Assert.Empty(await stack.ConnectionRowsAsync());
    }

    private static async Task<Connection> WaitForAsync(AppInstance app, string id, Func<Connection, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await RenewalDriver.ConnectionAsync(app, id) is { } connection && done(connection))
                {
                    return connection;
                }
            }
            catch (StorageUnavailableException)
            {
                // Still down for this instance.
            }

            Assert.True(DateTime.UtcNow < deadline, $"connection {id} did not reach the expected state within {timeout}");
            await Task.Delay(200);
        }
    }

    private static async Task AssertUnavailableAsync(AppInstance app, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await app.Api.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{method} {path}: {(int)response.StatusCode} {text}");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("urn:freshbooks-connect:problem:", JsonDocument.Parse(text).RootElement.GetProperty("type").GetString());
    }

    private static async Task AssertUnavailablePageAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("try again", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }
}
