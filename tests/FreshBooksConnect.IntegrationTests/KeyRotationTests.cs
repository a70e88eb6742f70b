using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using FreshBooks.Emulator;
using FreshBooksConnect.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// Issue 18, item 4: after a rotation the re-encryption pass rewrites every row that is not under the current key (active,
/// failing, needs-reconsent) through the store, beside running renewals and never over a leased row, and <c>GET /api/keys</c>
/// counts what each key still protects until the old key protects nothing.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class KeyRotationTests(ConnectStack stack) : IAsyncLifetime
{
    private readonly string _k2 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private AppInstance App => stack.App;

    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Reencryption_moves_active_failing_and_needs_reconsent_rows_to_the_new_key_while_renewals_run_and_waits_for_a_leased_row()
    {
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            ids.Add((await App.ConnectAsync($"rotate-{i}")).ConnectionId);
        }

        var store = App.Services.GetRequiredService<IConnectionStore>();
        var now = stack.Clock.GetUtcNow();
        var failing = ids[0];
        var reconsent = ids[1];
        var leased = ids[2];
        Assert.True((await store.WriteAsync((await store.GetAsync(failing, default))!.RenewalFailed("503", now, now.AddHours(30), TimeSpan.FromHours(1)), default)).Written);
        Assert.True((await store.WriteAsync((await store.GetAsync(reconsent, default))!.NeedsReconsent("invalid_grant: test", now), default)).Written);

        var rotated = await stack.StartAppAsync(WithK2Current, instanceOf: App);
        var before = await KeysAsync(rotated);
        Assert.Equal("k2", before.GetProperty("currentKeyId").GetString());
        Assert.Equal(8, Protected(before, "k1"));
        Assert.Equal(0, Protected(before, "k2"));

        // Half the connections come due; the lease is taken by another instance's renewal as the pass starts.
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        var lease = (await store.GetAsync(leased, default))!;
        Assert.True((await store.WriteAsync(lease.Leased("another-instance", stack.Clock.GetUtcNow() + TimeSpan.FromMinutes(3), stack.Clock.GetUtcNow()), default)).Written);
        var renewals = RenewalDriver.SweepAndRenewAsync(stack, rotated);
        var pass = ReencryptAsync(rotated);
        await Task.WhenAll(renewals, pass);

        var rows = await stack.ConnectionRowsAsync();
        Assert.All(rows.Where(r => r.PartitionKey != leased), r =>
        {
            Assert.StartsWith("v2.k2.", r.GetString("AccessToken"));
            Assert.StartsWith("v2.k2.", r.GetString("RefreshToken"));
        });
        Assert.StartsWith("v2.k1.", rows.Single(r => r.PartitionKey == leased).GetString("RefreshToken"));
        Assert.Equal(1, Protected(await KeysAsync(rotated), "k1"));

        // The lease runs out (and its holder's time to save with it): the timer's next pass takes that row too.
        stack.Clock.Advance(TimeSpan.FromMinutes(3) + TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        await rotated.Host.InvokeAsync("ReencryptTokens");
        var after = await KeysAsync(rotated);
        Assert.Equal(0, Protected(after, "k1"));
        Assert.Equal(8, Protected(after, "k2"));
        Assert.Equal(0, after.GetProperty("unreadable").GetInt32());

        // Nothing but the encryption changed: states, failures and tokens are the ones before, and each works at FreshBooks.
        var onlyK2 = await stack.StartAppAsync(
            s =>
            {
                s.Remove("TokenProtection:Keys:k1");
                WithK2Current(s);
            },
            instanceOf: App);
        foreach (var id in ids)
        {
            var connection = await RenewalDriver.ConnectionAsync(onlyK2, id);
            Assert.True(connection.TokensReadable, id);
            if (id != reconsent)
            {
                Assert.True(stack.Emulator.IsAccessTokenValid(connection.AccessToken), id);
            }
        }

        Assert.Equal(ConnectionStatus.NeedsReconsent, (await RenewalDriver.ConnectionAsync(onlyK2, reconsent)).Status);
        Assert.Equal("invalid_grant: test", (await RenewalDriver.ConnectionAsync(onlyK2, reconsent)).StatusReason);
        Assert.Equal(1, (await RenewalDriver.ConnectionAsync(onlyK2, failing)).FailedAttempts);
        Assert.DoesNotContain(stack.Emulator.Misuses, m => m.Kind == MisuseKind.ReusedRefreshToken);
        stack.Clock.Advance(TimeSpan.FromHours(12));
        await RenewalDriver.SweepAndRenewAsync(stack, onlyK2);
        Assert.True(stack.Emulator.IsAccessTokenValid((await RenewalDriver.ConnectionAsync(onlyK2, ids[^1])).AccessToken));
    }

    [Fact]
    public async Task Reencryption_races_renewals_of_the_same_rows_without_losing_a_pair()
    {
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add((await App.ConnectAsync($"race-{i}")).ConnectionId);
        }

        var rotated = await stack.StartAppAsync(WithK2Current, instanceOf: App);
        var second = await stack.StartAppAsync(WithK2Current, instanceOf: App);
        stack.Clock.Advance(TimeSpan.FromHours(11.5));

        // Every row is due and every row is not under k2: the pass and the renewals want the same rows at once.
        await Task.WhenAll(RenewalDriver.SweepAndRenewAsync(stack, rotated), ReencryptAsync(second), ReencryptAsync(rotated));
        await ReencryptAsync(second);

        Assert.Equal(0, Protected(await KeysAsync(rotated), "k1"));
        Assert.DoesNotContain(stack.Emulator.Misuses, m => m.Kind == MisuseKind.ReusedRefreshToken);
        foreach (var id in ids)
        {
            var connection = await RenewalDriver.ConnectionAsync(rotated, id);
            Assert.Equal(2, connection.TokenGeneration);
            Assert.True(stack.Emulator.IsAccessTokenValid(connection.AccessToken), id);
        }
    }

    [Fact]
    public async Task Keys_routes_need_the_master_key_and_show_no_key()
    {
        await App.ConnectAsync("keys");
        var rotated = await stack.StartAppAsync(WithK2Current, instanceOf: App);

        using var withFunctionKey = await rotated.Api.GetAsync("api/keys");
        Assert.Equal(HttpStatusCode.Unauthorized, withFunctionKey.StatusCode);
        using var reencryptWithFunctionKey = await rotated.Api.PostAsync("api/keys/reencrypt", null);
        Assert.Equal(HttpStatusCode.Unauthorized, reencryptWithFunctionKey.StatusCode);
        Assert.StartsWith("v2.k1.", Assert.Single(await stack.ConnectionRowsAsync()).GetString("AccessToken"));

        using var admin = Admin(rotated);
        var text = await admin.GetStringAsync("api/keys");
        Assert.DoesNotContain(stack.EncryptionKey, text);
        Assert.DoesNotContain(_k2, text);
        var keys = JsonDocument.Parse(text).RootElement;
        Assert.Equal(1, Protected(keys, "k1"));
        Assert.Contains(keys.GetProperty("keys").EnumerateArray(), k => k.GetProperty("id").GetString() == "k2" && k.GetProperty("current").GetBoolean());
    }

    [Fact]
    public async Task A_row_no_configured_key_opens_is_counted_as_unreadable_and_left_as_it_is()
    {
        var (_, _, id) = await App.ConnectAsync("lost-key");
        var onlyK2 = await stack.StartAppAsync(
            s =>
            {
                s.Remove("TokenProtection:Keys:k1");
                WithK2Current(s);
            },
            instanceOf: App);
        var row = Assert.Single(await stack.ConnectionRowsAsync());

        var pass = await ReencryptAsync(onlyK2);
        Assert.Equal(1, pass.GetProperty("unreadable").GetInt32());
        Assert.Equal(row.ETag, Assert.Single(await stack.ConnectionRowsAsync()).ETag);
        var keys = await KeysAsync(onlyK2);
        Assert.Equal(1, keys.GetProperty("unreadable").GetInt32());
        var k1 = Assert.Single(keys.GetProperty("keys").EnumerateArray(), k => k.GetProperty("id").GetString() == "k1");
        Assert.False(k1.GetProperty("configured").GetBoolean());
        Assert.Equal(1, k1.GetProperty("connections").GetInt32());
        Assert.Equal(id, row.PartitionKey);
    }

    [Fact]
    public async Task A_row_in_the_ciphertext_format_before_issue_17_still_reads_and_the_pass_and_a_renewal_write_it_in_the_new_one()
    {
        var (_, _, id) = await App.ConnectAsync("old-format");
        var connection = await RenewalDriver.ConnectionAsync(App, id);
        var row = await WriteConnectionOnlyTokensAsync(id, connection);

        // It reads, is served, and reading it writes nothing.
        Assert.Equal(connection.AccessToken, (await App.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString());
        Assert.Equal(row.ETag, Assert.Single(await stack.ConnectionRowsAsync()).ETag);
        Assert.Equal(1, Protected(await KeysAsync(App), "k1"));

        // The re-encryption pass rewrites it in the new format, under the same key.
        var pass = await ReencryptAsync(App);
        Assert.Equal(1, pass.GetProperty("rewritten").GetInt32());
        var rewritten = Assert.Single(await stack.ConnectionRowsAsync());
        Assert.StartsWith("v2.k1.", rewritten.GetString("AccessToken"));
        Assert.StartsWith("v2.k1.", rewritten.GetString("RefreshToken"));
        Assert.Equal(connection.AccessToken, (await RenewalDriver.ConnectionAsync(App, id)).AccessToken);
        Assert.Equal(1, (await ReencryptAsync(App)).GetProperty("current").GetInt32());

        // So does its next renewal.
        await WriteConnectionOnlyTokensAsync(id, connection);
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        Assert.Equal(1, await RenewalDriver.SweepAndRenewAsync(stack, App));
        var renewed = Assert.Single(await stack.ConnectionRowsAsync());
        Assert.StartsWith("v2.k1.", renewed.GetString("AccessToken"));
        Assert.StartsWith("v2.k1.", renewed.GetString("RefreshToken"));
        var served = (await App.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!;
        Assert.True(stack.Emulator.IsAccessTokenValid(served));
        Assert.Equal(connection.TokenGeneration + 1, (await RenewalDriver.ConnectionAsync(App, id)).TokenGeneration);
    }

    /// <summary>Writes the connection's tokens as the version before issue 17 did: <c>v1</c>, bound to the connection id alone.</summary>
    private async Task<Azure.Data.Tables.TableEntity> WriteConnectionOnlyTokensAsync(string id, Connection connection)
    {
        var table = stack.Tables.GetTableClient(Storage.StorageOptions.ConnectionsTableName);
        await table.UpdateEntityAsync(
            new Azure.Data.Tables.TableEntity(id, id)
            {
                ["AccessToken"] = ConnectionOnlyValue(connection.AccessToken, id),
                ["RefreshToken"] = ConnectionOnlyValue(connection.RefreshToken, id),
            },
            Azure.ETag.All,
            Azure.Data.Tables.TableUpdateMode.Merge);
        return Assert.Single(await stack.ConnectionRowsAsync());
    }

    private string ConnectionOnlyValue(string token, string connectionId)
    {
        var plaintext = System.Text.Encoding.UTF8.GetBytes(token);
        var payload = new byte[12 + plaintext.Length + 16];
        RandomNumberGenerator.Fill(payload.AsSpan(0, 12));
        using var aes = new AesGcm(Convert.FromBase64String(stack.EncryptionKey), 16);
        aes.Encrypt(payload.AsSpan(0, 12), plaintext, payload.AsSpan(12, plaintext.Length), payload.AsSpan(12 + plaintext.Length), System.Text.Encoding.UTF8.GetBytes("connection:" + connectionId));
        return "v1.k1." + System.Buffers.Text.Base64Url.EncodeToString(payload);
    }

    private void WithK2Current(Dictionary<string, string?> settings)
    {
        settings["TokenProtection:Keys:k2"] = _k2;
        settings["TokenProtection:CurrentKeyId"] = "k2";
    }

    private static HttpClient Admin(AppInstance app)
    {
        var client = new HttpClient { BaseAddress = app.Host.BaseUri };
        client.DefaultRequestHeaders.Add("x-functions-key", app.Host.MasterKey);
        return client;
    }

    private static async Task<JsonElement> KeysAsync(AppInstance app)
    {
        using var admin = Admin(app);
        using var response = await admin.GetAsync("api/keys");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<JsonElement> ReencryptAsync(AppInstance app)
    {
        using var admin = Admin(app);
        using var response = await admin.PostAsync("api/keys/reencrypt", null);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static int Protected(JsonElement keys, string keyId) =>
        keys.GetProperty("keys").EnumerateArray().Where(k => k.GetProperty("id").GetString() == keyId).Select(k => k.GetProperty("connections").GetInt32()).SingleOrDefault();
}
