using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Web;
using Azure.Data.Tables;
using FreshBooksConnect.Consent;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// Consent states and link uses keyed by when they expire (issue 17): the purge deletes the expired ones as a range, in
/// transactions, without reading a live row; rows of the layout before survive a deployment until they expire.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class ConsentStateLayoutTests(ConnectStack stack) : IAsyncLifetime
{
    private AppInstance App => stack.App;

    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task The_purge_deletes_expired_states_and_link_uses_in_transactions_and_reads_no_live_row()
    {
        var now = stack.Clock.GetUtcNow();
        var states = App.Services.GetRequiredService<IConsentStateStore>();
        var links = App.Services.GetRequiredService<ILinkUseStore>();
        var expiredAt = Minute(now).AddMinutes(-30).AddSeconds(20);
        await AddStatesAsync(states, 150, expiredAt);
        await AddStatesAsync(states, 20, now.AddMinutes(30));
        await AddStatesAsync(states, 3, Minute(now));
        for (var i = 0; i < 5; i++)
        {
            await SpendAsync(links, $"expired{i}", Minute(now).AddHours(-2).AddSeconds(i));
        }

        for (var i = 0; i < 4; i++)
        {
            await SpendAsync(links, $"live{i}", now.AddDays(5));
        }

        var counter = new TableReadCounter();
        var counted = await stack.StartAppAsync(services: counter.AddTo, instanceOf: App);

        var purged = await counted.Services.GetRequiredService<ConsentStatePurge>().PurgeAsync(now, default);

        // 150 + 5 expired in minutes that are over; the 3 that expired in this minute wait for the next purge.
        Assert.Equal(155, purged);
        Assert.Equal(155, counter.RowsRead(StorageOptions.ConsentStatesTableName));
        Assert.Equal(3, counter.Requests("POST", "$batch"));
        Assert.Equal(0, counter.Requests("DELETE", StorageOptions.ConsentStatesTableName));
        var rows = await stack.RowsAsync(StorageOptions.ConsentStatesTableName);
        Assert.Equal(27, rows.Count);
        Assert.All(rows, r => Assert.True(r.GetDateTimeOffset("ExpiresAt") >= Minute(now), r.PartitionKey + " " + r.RowKey));
        Assert.All(counter.Queries(StorageOptions.ConsentStatesTableName), q => Assert.Contains("PartitionKey", HttpUtility.ParseQueryString(q.Query)["$filter"]));

        // Nothing left to purge: one query, nothing read.
        var again = await counted.Services.GetRequiredService<ConsentStatePurge>().PurgeAsync(now, default);
        Assert.Equal(0, again);
        Assert.Equal(155, counter.RowsRead(StorageOptions.ConsentStatesTableName));
    }

    [Fact]
    public async Task A_consent_started_before_the_new_layout_completes_a_link_spent_before_stays_spent_and_the_purge_removes_the_old_rows()
    {
        var table = stack.Tables.GetTableClient(StorageOptions.ConsentStatesTableName);
        var now = stack.Clock.GetUtcNow();

        // A consent the previous version started: a 43-character state, stored under its hash with row key "state".
        var (link, connectionId) = await App.CreateLinkAsync("inflight", ConnectStack.ReturnUrlPrefix + "home");
        var (linkId, linkExpiresAt) = LinkClaims(link);
        var binding = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var state = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var stateHash = Hash(state);
        await table.AddEntityAsync(new TableEntity(stateHash, "state")
        {
            ["WriteId"] = Guid.NewGuid().ToString("N"),
            ["BrowserBindingHash"] = Hash(binding),
            ["TenantId"] = "inflight",
            ["ReturnUrl"] = ConnectStack.ReturnUrlPrefix + "home",
            ["LinkId"] = linkId,
            ["LinkExpiresAt"] = linkExpiresAt,
            ["CreatedAt"] = now,
            ["ExpiresAt"] = now.AddMinutes(30),
        });
        App.Cookies.Add(App.Host.BaseUri, new Cookie("fbc-" + stateHash[..16], binding));
        var consentUrl = new UriBuilder(await App.StartAsync(link));
        var query = HttpUtility.ParseQueryString(consentUrl.Query);
        query["state"] = state;
        consentUrl.Query = query.ToString();

        var (status, page) = await App.CallbackAsync(await stack.Emulator.ApproveAsync(consentUrl.Uri));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(stack.Emulator.IsAccessTokenValid((await App.GetJsonAsync($"api/connections/{connectionId}/token")).GetProperty("accessToken").GetString()!), page);
        var legacyState = (await table.GetEntityAsync<TableEntity>(stateHash, "state")).Value;
        Assert.NotNull(legacyState.GetDateTimeOffset("ConsumedAt"));
        Assert.Equal(connectionId, legacyState.GetString("ConnectionId"));

        // A link the previous version spent: its row under "link-{id}" still refuses it, at Start and at the callback.
        var (spentLink, _) = await App.CreateLinkAsync("spentbefore");
        var (spentId, spentExpiresAt) = LinkClaims(spentLink);
        var consentOfSpent = await App.StartAsync(spentLink);
        await table.AddEntityAsync(new TableEntity("link-" + spentId, "link")
        {
            ["ClaimedBy"] = new string('0', 64),
            ["ClaimedAt"] = now,
            ["SpentAt"] = now,
            ["ExpiresAt"] = spentExpiresAt,
        });
        using (var opened = await App.Browser.GetAsync(spentLink))
        {
            Assert.Equal(HttpStatusCode.Conflict, opened.StatusCode);
            Assert.Contains("This link was already used", await opened.Content.ReadAsStringAsync());
        }

        var (refused, refusedPage) = await App.CallbackAsync(await stack.Emulator.ApproveAsync(consentOfSpent));
        Assert.Equal(HttpStatusCode.Conflict, refused);
        Assert.Contains("This link was already used", refusedPage);
        Assert.DoesNotContain(await stack.ConnectionRowsAsync(), r => r.PartitionKey == "t-spentbefore");

        // Once both expired, the purge deletes the old rows with the new ones, and nothing of either layout is left. (An instance
        // just deployed: one whose purge already found no old row stops looking, and nothing writes that layout after it.)
        var deployed = await stack.StartAppAsync(instanceOf: App);
        var purged = await deployed.Services.GetRequiredService<ConsentStatePurge>().PurgeAsync(spentExpiresAt.AddMinutes(2), default);

        Assert.True(purged >= 2, $"purged {purged}");
        Assert.Empty(await stack.RowsAsync(StorageOptions.ConsentStatesTableName));
    }

    private static DateTimeOffset Minute(DateTimeOffset at) => new(at.Year, at.Month, at.Day, at.Hour, at.Minute, 0, TimeSpan.Zero);

    private static async Task AddStatesAsync(IConsentStateStore states, int count, DateTimeOffset expiresAt) =>
        await Parallel.ForEachAsync(Enumerable.Range(0, count), async (_, ct) => await states.AddAsync(
            new ConsentState
            {
                StateHash = Hash(Guid.NewGuid().ToString()),
                BrowserBindingHash = Hash(Guid.NewGuid().ToString()),
                CreatedAt = expiresAt.AddHours(-1),
                ExpiresAt = expiresAt,
            },
            ct));

    private static async Task SpendAsync(ILinkUseStore links, string linkId, DateTimeOffset linkExpiresAt)
    {
        var stateHash = Hash(linkId);
        Assert.Equal(LinkClaimOutcome.Claimed, await links.TryClaimAsync(linkId, stateHash, linkExpiresAt, linkExpiresAt.AddDays(-1), TimeSpan.FromMinutes(10), default));
        Assert.True(await links.MarkSpentAsync(linkId, linkExpiresAt, stateHash, linkExpiresAt.AddDays(-1), default));
    }

    private static (string Id, DateTimeOffset ExpiresAt) LinkClaims(string link)
    {
        var claims = JsonNode.Parse(Base64Url.DecodeFromChars(Probe.SplitLink(Probe.LinkToken(link)).Payload))!;
        return (claims["i"]!.GetValue<string>(), DateTimeOffset.FromUnixTimeSeconds(claims["exp"]!.GetValue<long>()));
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
