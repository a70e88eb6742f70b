using System.Net;
using System.Web;
using FreshBooks.Emulator;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// PKCE on the consent (issue 17, item 4): an S256 challenge on the way to FreshBooks, its verifier on the code exchange, so a
/// leaked code is worth nothing without the browser that started the consent.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class PkceTests(ConnectStack stack) : IAsyncLifetime
{
    public Task InitializeAsync() => stack.ResetStorageAsync();

    public Task DisposeAsync()
    {
        stack.Emulator.RequirePkce = false;
        return Task.CompletedTask;
    }

    [Fact]
    public async Task With_PKCE_required_by_FreshBooks_and_used_by_the_app_onboarding_completes()
    {
        stack.Emulator.RequirePkce = true;
        var app = await StartAppWithPkceAsync();
        var (link, connectionId) = await app.CreateLinkAsync("pkce");

        var consent = await app.StartAsync(link);
        var query = HttpUtility.ParseQueryString(consent.Query);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", query["code_challenge"]);
        Assert.NotEqual(query["code_challenge"], HttpUtility.ParseQueryString((await app.StartAsync(link)).Query)["code_challenge"]);
        var (status, page) = await app.CallbackAsync(await stack.Emulator.ApproveAsync(consent));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("FreshBooks is connected", page);
        Assert.Empty(stack.Emulator.Misuses);
        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token && c.GrantType == "authorization_code" && c.StatusCode == 200);
        var token = await app.GetJsonAsync($"api/connections/{connectionId}/token");
        Assert.True(stack.Emulator.IsAccessTokenValid(token.GetProperty("accessToken").GetString()!));
    }

    [Fact]
    public async Task The_app_without_PKCE_against_a_FreshBooks_that_requires_it_gets_a_clear_page_and_stores_nothing()
    {
        stack.Emulator.RequirePkce = true;

        var (status, page, _) = await stack.App.ConnectAsync("nopkce");

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains("FreshBooks could not complete the connection", page);
        Assert.Contains("FreshBooks said: invalid_request", page);
        Assert.Empty(await stack.ConnectionRowsAsync());
        Assert.DoesNotContain(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token);
        Assert.Equal([MisuseKind.PkceRequired], stack.Emulator.Misuses.Select(m => m.Kind));
    }

    [Fact]
    public async Task A_stolen_code_redeemed_through_the_thiefs_own_consent_is_refused_and_stores_nothing()
    {
        var app = await StartAppWithPkceAsync();

        // The victim approved; the address FreshBooks sent them back to (code and state) leaked before their browser used it.
        using var victim = new Browser(app);
        var leaked = await stack.Emulator.ApproveAsync(await victim.StartAsync((await app.CreateLinkAsync("victim")).Url));

        // The thief starts a consent of their own (their own link, state and cookie) and swaps in the victim's code.
        using var thief = new Browser(app);
        var own = await stack.Emulator.ApproveAsync(await thief.StartAsync((await app.CreateLinkAsync("thief")).Url), ConnectStack.SecondUser.Id);
        var stolen = new Uri(app.Host.BaseUri, $"api/callback?code={Query(leaked, "code")}&state={Query(own, "state")}");
        using var response = await thief.Client.GetAsync(stolen);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("This sign-in took too long", await response.Content.ReadAsStringAsync());
        Assert.Empty(await stack.ConnectionRowsAsync());
        Assert.Single(stack.Emulator.Calls, c => c.Endpoint == EndpointKind.Token && c.StatusCode == 400 && c.Error == "invalid_grant");
        Assert.Equal([MisuseKind.CodeVerifierMismatch], stack.Emulator.Misuses.Select(m => m.Kind));

        // The code was not spent by the attempt: the victim's own browser still completes their consent.
        using var completed = await victim.Client.GetAsync(leaked);
        Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
        Assert.Contains("Ada Lovelace", await completed.Content.ReadAsStringAsync());
        Assert.Equal(["t-victim"], (await stack.ConnectionRowsAsync()).Select(r => r.PartitionKey));
    }

    private Task<AppInstance> StartAppWithPkceAsync() => stack.StartAppAsync(s => s["FreshBooks:UsePkce"] = "true");

    private static string Query(Uri uri, string name) => HttpUtility.ParseQueryString(uri.Query)[name]!;
}
