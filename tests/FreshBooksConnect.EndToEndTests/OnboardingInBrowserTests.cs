using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FreshBooksConnect.EndToEndTests.Infrastructure;
using Microsoft.Playwright;

namespace FreshBooksConnect.EndToEndTests;

/// <summary>
/// A customer's onboarding in a real browser, against what <c>./run.sh</c> started: the printed link, the FreshBooks
/// (emulator) consent page, the app's pages. Each page is saved to <c>screenshots/</c> in the test output.
/// </summary>
public sealed class OnboardingInBrowserTests(BrowserStack stack) : IClassFixture<BrowserStack>
{
    [Fact]
    public async Task Allowing_on_the_consent_page_connects_the_business_and_its_token_works_on_the_FreshBooks_API()
    {
        await using var context = await NewBrowserContextAsync();
        var page = await context.NewPageAsync();

        // The link's page names the product and the tenant; its button (a form POST, which the page's CSP lets go on to
        // FreshBooks) starts the consent.
        await page.GotoAsync(stack.Link);
        Assert.Equal($"Connect FreshBooks to {RunCommand.ProductName}", await page.Locator("h1").InnerTextAsync());
        var intro = await page.Locator("main").InnerTextAsync();
        Assert.Contains($"You'll be sent to FreshBooks to approve access for {RunCommand.ProductName} to your books.", intro, StringComparison.Ordinal);
        Assert.Contains($"Your FreshBooks account will be connected to “Demo Company” in {RunCommand.ProductName}.", intro, StringComparison.Ordinal);
        await ScreenshotAsync(page, "confirm");
        await ContinueToFreshBooksAsync(page);
        Assert.Contains("to access your FreshBooks account?", await page.Locator("h1").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("Ada Lovelace", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        await ScreenshotAsync(page, "consent");

        await page.GetByRole(AriaRole.Button, new() { Name = "Allow" }).ClickAsync();
        await page.WaitForURLAsync(url => url.StartsWith($"{stack.Run.AppUrl}/api/callback?", StringComparison.Ordinal));
        await page.WaitForLoadStateAsync(LoadState.Load);
        await ScreenshotAsync(page, "connected");
        Assert.Equal("FreshBooks is connected", await page.Locator("h1").InnerTextAsync());
        Assert.Contains($"connected Analytical Engines Ltd. to “Demo Company” in {RunCommand.ProductName}.", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);

        using var http = new HttpClient();
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Get, $"{stack.Run.AppUrl}/api/connections/t-demo/token");
        tokenRequest.Headers.Add("x-functions-key", RunCommand.FunctionKey);
        using var tokenResponse = await http.SendAsync(tokenRequest);
        var tokenBody = await tokenResponse.Content.ReadAsStringAsync();
        Assert.True(tokenResponse.StatusCode == HttpStatusCode.OK, $"token API: {(int)tokenResponse.StatusCode} {tokenBody}");
        var token = JsonDocument.Parse(tokenBody).RootElement;
        var accountId = token.GetProperty("businesses")[0].GetProperty("accountId").GetString();
        Assert.Equal("AEL001", accountId);

        using var clientsRequest = new HttpRequestMessage(HttpMethod.Get, $"{stack.Run.EmulatorUrl}/accounting/account/{accountId}/users/clients");
        clientsRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.GetProperty("accessToken").GetString());
        using var clientsResponse = await http.SendAsync(clientsRequest);
        Assert.Equal(HttpStatusCode.OK, clientsResponse.StatusCode);
        var clients = await clientsResponse.Content.ReadFromJsonAsync<JsonElement>();
        Assert.NotEqual(0, clients.GetProperty("response").GetProperty("result").GetProperty("clients").GetArrayLength());
    }

    [Fact]
    public async Task Denying_on_the_consent_page_shows_the_not_connected_page_and_connects_nothing()
    {
        var link = await CreateLinkAsync("e2e-declined");
        await using var context = await NewBrowserContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync(link);
        await ContinueToFreshBooksAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Deny" }).ClickAsync();
        await page.WaitForURLAsync(url => url.StartsWith($"{stack.Run.AppUrl}/api/callback?", StringComparison.Ordinal));
        await page.WaitForLoadStateAsync(LoadState.Load);
        await ScreenshotAsync(page, "declined");
        Assert.Equal("FreshBooks was not connected", await page.Locator("h1").InnerTextAsync());

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{stack.Run.AppUrl}/api/connections/t-e2e-declined/token");
        request.Headers.Add("x-functions-key", RunCommand.FunctionKey);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    /// <summary>Clicks the link page's button and waits for FreshBooks' (the emulator's) consent page.</summary>
    private async Task ContinueToFreshBooksAsync(IPage page)
    {
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue to FreshBooks" }).ClickAsync();
        await page.WaitForURLAsync(url => url.StartsWith($"{stack.Run.EmulatorUrl}/oauth/authorize/", StringComparison.Ordinal));
        await page.WaitForLoadStateAsync(LoadState.Load);
    }

    private Task<IBrowserContext> NewBrowserContextAsync() =>
        stack.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1024, Height = 768 } });

    /// <summary>As the SaaS backend does: POST /api/onboarding-links with the function key.</summary>
    private async Task<string> CreateLinkAsync(string tenantId)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{stack.Run.AppUrl}/api/onboarding-links") { Content = JsonContent.Create(new { tenantId }) };
        request.Headers.Add("x-functions-key", RunCommand.FunctionKey);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("url").GetString()!;
    }

    private static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserStack.ScreenshotDirectory, name + ".png"), FullPage = true });
}
