using System.Net;
using FreshBooks.Emulator;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// FreshBooks' odd-but-valid answers and cancelled requests, over real HTTP against the emulator: no connection lost, no
/// refresh storm, no grant left live that no connection holds.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class FreshBooksAnswerTests(ConnectStack stack) : IAsyncLifetime
{
    private AppInstance App => stack.App;

    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_refresh_that_echoes_the_grants_original_created_at_causes_one_refresh_in_an_hour_of_token_requests_and_sweeps()
    {
        var (_, _, id) = await App.ConnectAsync("echo");
        for (var i = 0; i < 25; i++)
        {
            stack.Emulator.Faults.EnqueueToken(TokenFault.OddAnswer(TokenAnswerShape.OriginalCreatedAt));
        }

        stack.Clock.Advance(TimeSpan.FromHours(11) + TimeSpan.FromMinutes(56));
        stack.Emulator.ResetLog();
        var tokens = new HashSet<string>();
        for (var request = 0; request < 20; request++)
        {
            tokens.Add((await App.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!);
            if (request % 5 == 4)
            {
                await RenewalDriver.SweepAndRenewAsync(stack, App);
            }

            stack.Clock.Advance(TimeSpan.FromMinutes(3));
        }

        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token && c.GrantType == "refresh_token");
        var token = Assert.Single(tokens);
        Assert.True(stack.Emulator.IsAccessTokenValid(token));
        var connection = await RenewalDriver.ConnectionAsync(App, id);
        Assert.InRange(connection.AccessTokenExpiresAt, stack.Clock.GetUtcNow().AddHours(10.5), stack.Clock.GetUtcNow().AddHours(11.5));
    }

    public static TheoryData<TokenAnswerShape> UsableShapes() =>
    [
        TokenAnswerShape.OriginalCreatedAt, TokenAnswerShape.CreatedAtMilliseconds, TokenAnswerShape.CreatedAtMissing, TokenAnswerShape.CreatedAtFuture,
        TokenAnswerShape.CreatedAtString, TokenAnswerShape.ExpiresInMissing, TokenAnswerShape.ExpiresInNull, TokenAnswerShape.ExpiresInZero,
        TokenAnswerShape.ExpiresInDecimal, TokenAnswerShape.ExpiresInString, TokenAnswerShape.ExpiresInHuge, TokenAnswerShape.ExpiresInNegative,
        TokenAnswerShape.UnknownCharset, TokenAnswerShape.NoContentType, TokenAnswerShape.TokenTypeLowercase, TokenAnswerShape.TokenTypeMissing,
        TokenAnswerShape.TokenTypeOther, TokenAnswerShape.PaddedTokens, TokenAnswerShape.ExtraFields, TokenAnswerShape.ScopeMissing,
    ];

    [Theory]
    [MemberData(nameof(UsableShapes))]
    public async Task Every_odd_answer_that_carries_a_pair_is_saved_with_a_sane_expiry_and_no_second_token_call(TokenAnswerShape shape)
    {
        var (_, _, id) = await App.ConnectAsync("odd");
        var before = await RenewalDriver.ConnectionAsync(App, id);
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        stack.Emulator.ResetLog();
        stack.Emulator.Faults.EnqueueToken(TokenFault.OddAnswer(shape));
        var renewedAt = stack.Clock.GetUtcNow();

        await RenewalDriver.SweepAndRenewAsync(stack, App);

        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);
        var renewed = await RenewalDriver.ConnectionAsync(App, id);
        Assert.Equal(2, renewed.TokenGeneration);
        Assert.Equal(ConnectionStatus.Active, renewed.Status);
        Assert.True(stack.Emulator.IsAccessTokenValid(renewed.AccessToken), "the stored access token is not the one FreshBooks issued");
        Assert.Equal(renewed.AccessToken.Trim(), renewed.AccessToken);
        Assert.Equal(before.Scopes, renewed.Scopes);

        // Expiry counts from the answer's arrival: 12 hours, or the conservative 6 when expires_in can't be used.
        Assert.InRange(renewed.AccessTokenExpiresAt, renewedAt.AddHours(6), stack.Clock.GetUtcNow().AddHours(12));
        Assert.True(renewed.NextRenewalAt > stack.Clock.GetUtcNow(), "the renewed connection is due again at once");

        // The refresh token inside the odd answer is the one that works next.
        stack.Clock.Advance(TimeSpan.FromHours(12));
        await RenewalDriver.SweepAndRenewAsync(stack, App);
        Assert.Equal(3, (await RenewalDriver.ConnectionAsync(App, id)).TokenGeneration);
        Assert.DoesNotContain(stack.Emulator.Misuses, m => m.Kind == MisuseKind.ReusedRefreshToken);
    }

    [Theory]
    [InlineData(TokenAnswerShape.ExpiresInString)]
    [InlineData(TokenAnswerShape.UnknownCharset)]
    [InlineData(TokenAnswerShape.PaddedTokens)]
    [InlineData(TokenAnswerShape.ExpiresInMissing)]
    public async Task A_code_exchange_answered_oddly_still_connects(TokenAnswerShape shape)
    {
        stack.Emulator.Faults.EnqueueToken(TokenFault.OddAnswer(shape));

        var (status, page, id) = await App.ConnectAsync("odd-exchange");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("FreshBooks is connected", page);
        Assert.True(stack.Emulator.IsAccessTokenValid((await RenewalDriver.ConnectionAsync(App, id)).AccessToken));
    }

    [Theory]
    [InlineData(TokenAnswerShape.NotJson)]
    [InlineData(TokenAnswerShape.RefreshTokenMissing)]
    public async Task A_200_without_a_usable_pair_is_not_asked_again_at_once_and_is_recorded(TokenAnswerShape shape)
    {
        var (_, _, id) = await App.ConnectAsync("lost-answer");
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        stack.Emulator.ResetLog();
        stack.Emulator.Faults.EnqueueToken(TokenFault.OddAnswer(shape));

        await RenewalDriver.SweepAndRenewAsync(stack, App);

        // One call: asking again at once would spend the refresh token FreshBooks may just have spent.
        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);
        var connection = await RenewalDriver.ConnectionAsync(App, id);
        Assert.Equal(1, connection.FailedAttempts);
        Assert.StartsWith("unreadable_answer", connection.LastError);
        Assert.True(connection.NextRenewalAt > stack.Clock.GetUtcNow());
        Assert.Null(connection.LeaseOwner);
    }

    [Fact]
    public async Task A_refresh_FreshBooks_holds_past_FreshBooks__Timeout_is_cut_and_tried_again()
    {
        var quick = await stack.StartAppAsync(configure: s => s["FreshBooks:Timeout"] = "00:00:01", instanceOf: App);
        var (_, _, id) = await App.ConnectAsync("held");
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        stack.Emulator.ResetLog();
        stack.Emulator.Faults.EnqueueToken(TokenFault.Timeout);

        await RenewalDriver.SweepAndRenewAsync(stack, quick);

        // The held call spent nothing (FreshBooks never processed it); the next one renewed.
        Assert.Equal(2, stack.Emulator.Calls.Count(c => c.Endpoint == EndpointKind.Token));
        var renewed = await RenewalDriver.ConnectionAsync(App, id);
        Assert.Equal(2, renewed.TokenGeneration);
        Assert.True(stack.Emulator.IsAccessTokenValid(renewed.AccessToken));
    }

    [Fact]
    public async Task Callers_who_give_up_during_a_slow_refresh_leave_nothing_behind_for_the_next_caller()
    {
        var (_, _, id) = await App.ConnectAsync("impatient");
        stack.Clock.Advance(TimeSpan.FromHours(11) + TimeSpan.FromMinutes(57));
        stack.Emulator.Faults.EnqueueToken(TokenFault.Delay(TimeSpan.FromSeconds(2)));

        using (var impatient = new HttpClient { BaseAddress = App.Host.BaseUri, Timeout = TimeSpan.FromMilliseconds(500) })
        {
            impatient.DefaultRequestHeaders.Add("x-functions-key", App.Host.FunctionKey);
            await Assert.ThrowsAnyAsync<TaskCanceledException>(() => impatient.GetAsync($"api/connections/{id}/token"));
        }

        // The refresh goes on without its caller and is saved.
        var renewed = await WaitForAsync(id, c => c.TokenGeneration == 2);

        // A token's life later, the next caller gets a refresh, not the finished one from hours ago.
        stack.Clock.Advance(TimeSpan.FromHours(12));
        stack.Emulator.ResetLog();
        var token = (await App.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!;

        Assert.NotEqual(renewed.AccessToken, token);
        Assert.True(stack.Emulator.IsAccessTokenValid(token));
        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token && c.GrantType == "refresh_token");
    }

    [Fact]
    public async Task A_callback_the_browser_cancels_at_users_me_still_ends_with_its_grant_stored_not_left_live()
    {
        var grantsBefore = stack.Emulator.LiveGrantCount;
        var (link, id) = await App.CreateLinkAsync("cancelled");
        var consent = await App.StartAsync(link);
        var redirect = await stack.Emulator.ApproveAsync(consent);
        stack.Emulator.Faults.EnqueueApi(ApiFault.Delay(TimeSpan.FromSeconds(2)).On(EndpointKind.UsersMe));

        using (var browser = new HttpClient(new HttpClientHandler { CookieContainer = App.Cookies, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromMilliseconds(500) })
        {
            await Assert.ThrowsAnyAsync<TaskCanceledException>(() => browser.GetAsync(redirect));
        }

        var stored = await WaitForAsync(id, _ => true);
        Assert.True(stack.Emulator.IsAccessTokenValid(stored.AccessToken));
        Assert.Equal(grantsBefore + 1, stack.Emulator.LiveGrantCount);
    }

    public static TheoryData<string> TransientRevokeFailures() => ["503", "429", "reset"];

    [Theory]
    [MemberData(nameof(TransientRevokeFailures))]
    public async Task A_revoke_FreshBooks_fails_for_a_moment_is_tried_again_so_no_replaced_grant_stays_live(string failure)
    {
        var (_, _, id) = await App.ConnectAsync("revoke-" + failure);
        var grantsBefore = stack.Emulator.LiveGrantCount;
        stack.Emulator.Faults.EnqueueApi((failure switch
        {
            "503" => ApiFault.ServerError,
            "429" => ApiFault.TooManyRequests(TimeSpan.FromSeconds(1)),
            _ => ApiFault.Reset,
        }).On(EndpointKind.Revoke));

        // The customer consents again: the new grant is stored, the one it replaced is given back to FreshBooks.
        var (status, _, _) = await App.ConnectAsync("revoke-" + failure);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(0, stack.Emulator.Faults.PendingApiCount);
        Assert.Equal(2, stack.Emulator.Calls.Count(c => c.Endpoint == EndpointKind.Revoke));
        Assert.Equal(grantsBefore, stack.Emulator.LiveGrantCount);
        Assert.True(stack.Emulator.IsAccessTokenValid((await RenewalDriver.ConnectionAsync(App, id)).AccessToken));
    }

    [Fact]
    public async Task A_new_consent_gives_back_the_grant_of_a_connection_that_needed_one()
    {
        var (_, _, id) = await App.ConnectAsync("refused-then-back");
        var grantsBefore = stack.Emulator.LiveGrantCount;

        // FreshBooks rotates the pair and answers 200 without it; the next refresh, with the spent token, is refused. The grant
        // lives on at FreshBooks, and the app does not revoke it then: another instance might hold the newer pair, unsaved.
        stack.Clock.Advance(TimeSpan.FromHours(11.5));
        stack.Emulator.Faults.EnqueueToken(TokenFault.OddAnswer(TokenAnswerShape.RefreshTokenMissing));
        await RenewalDriver.SweepAndRenewAsync(stack, App);
        var connection = await RenewalDriver.ConnectionAsync(App, id);
        stack.Clock.Advance(connection.NextRenewalAt!.Value - stack.Clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        await RenewalDriver.SweepAndRenewAsync(stack, App);
        Assert.Equal(ConnectionStatus.NeedsReconsent, (await RenewalDriver.ConnectionAsync(App, id)).Status);
        Assert.Equal(grantsBefore, stack.Emulator.LiveGrantCount);

        // The customer consents again: the new grant is stored, and the old one is revoked with the token the app holds.
        var (status, _, _) = await App.ConnectAsync("refused-then-back");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(grantsBefore, stack.Emulator.LiveGrantCount);
        Assert.Equal(ConnectionStatus.Active, (await RenewalDriver.ConnectionAsync(App, id)).Status);
    }

    [Fact]
    public async Task A_renewal_overtaken_by_a_reconsent_gives_way_and_leaves_exactly_one_live_grant()
    {
        var hooks = new FreshBooksHooks();
        var renewing = await stack.StartAppAsync(services: hooks.AddTo, instanceOf: App);
        var (_, _, id) = await App.ConnectAsync("overtaken");
        var grantsBefore = stack.Emulator.LiveGrantCount;
        stack.Clock.Advance(TimeSpan.FromHours(11) + TimeSpan.FromMinutes(57));

        // FreshBooks has answered the renewal; before it is saved, the customer consents again on another instance.
        hooks.AfterRefresh = async _ =>
        {
            hooks.AfterRefresh = null;
            var (status, _, _) = await App.ConnectAsync("overtaken");
            Assert.Equal(HttpStatusCode.OK, status);
        };
        var served = (await renewing.GetJsonAsync($"api/connections/{id}/token")).GetProperty("accessToken").GetString()!;

        var stored = await RenewalDriver.ConnectionAsync(App, id);
        Assert.Equal(stored.AccessToken, served);
        Assert.True(stack.Emulator.IsAccessTokenValid(served));
        Assert.Equal(grantsBefore, stack.Emulator.LiveGrantCount);
        Assert.Equal(2, stored.TokenGeneration);
    }

    [Fact]
    public async Task A_connection_whose_tokens_cannot_be_read_leaves_the_renewal_index_and_stays_listed()
    {
        var (_, _, id) = await App.ConnectAsync("unreadable");
        var other = await stack.StartAppAsync(configure: s => s["TokenProtection:Keys:k1"] = Convert.ToBase64String(new byte[32]), instanceOf: App);
        stack.Clock.Advance(TimeSpan.FromHours(11.5));

        await RenewalDriver.SweepAsync(other);
        await RenewalDriver.DrainQueueAsync(stack, other);

        Assert.Empty(await stack.RowsAsync(StorageOptions.RenewalIndexTableName));
        var listed = await other.GetJsonAsync($"api/connections/{id}");
        Assert.False(listed.GetProperty("tokensReadable").GetBoolean());
    }

    private async Task<Connection> WaitForAsync(string id, Func<Connection, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (await App.Services.GetRequiredService<IConnectionStore>().GetAsync(id, default) is { } connection && done(connection))
            {
                return connection;
            }

            Assert.True(DateTime.UtcNow < deadline, $"connection {id} did not reach the expected state");
            await Task.Delay(100);
        }
    }
}
