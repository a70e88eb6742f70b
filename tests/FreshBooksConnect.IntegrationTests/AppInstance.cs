using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FreshBooksConnect.LocalHost;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>One running instance of the function app, with a browser (cookies, no redirects followed) and an API client (function key).</summary>
public sealed class AppInstance : IAsyncDisposable
{
    private readonly ConnectStack _stack;

    public AppInstance(LocalFunctionsHost host, ConnectStack stack, string redirectUri)
    {
        RedirectUri = redirectUri;
        Host = host;
        _stack = stack;
        Cookies = new CookieContainer();
        Browser = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { BaseAddress = host.BaseUri };
        Api = new HttpClient { BaseAddress = host.BaseUri };
        Api.DefaultRequestHeaders.Add("x-functions-key", host.FunctionKey);
    }

    public LocalFunctionsHost Host { get; }

    /// <summary>This app's <c>FreshBooks__RedirectUri</c>.</summary>
    public string RedirectUri { get; }

    public CookieContainer Cookies { get; }

    public HttpClient Browser { get; }

    public HttpClient Api { get; }

    public IServiceProvider Services => Host.Services;

    public async Task<(string Url, string ConnectionId)> CreateLinkAsync(string tenantId, string? returnUrl = null, bool allowIdentityChange = false, string? tenantName = null)
    {
        using var response = await Api.PostAsJsonAsync("api/onboarding-links", new { tenantId, returnUrl, allowIdentityChange, tenantName });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("url").GetString()!, body.GetProperty("connectionId").GetString()!);
    }

    /// <summary>Opens an onboarding link in the browser and continues from its page; returns FreshBooks' consent URL it was sent to.</summary>
    public Task<Uri> StartAsync(string link) => ConfirmPage.ContinueAsync(Browser, link);

    /// <summary>FreshBooks sends the browser back: follows the redirect to the callback.</summary>
    public async Task<(HttpStatusCode Status, string Page)> CallbackAsync(Uri redirect)
    {
        using var response = await Browser.GetAsync(redirect);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The whole onboarding: link, Start, Allow at FreshBooks, Callback.</summary>
    public async Task<(HttpStatusCode Status, string Page, string ConnectionId)> ConnectAsync(
        string tenantId, long? userId = null, string? returnUrl = null, bool allowIdentityChange = false)
    {
        var (link, connectionId) = await CreateLinkAsync(tenantId, returnUrl, allowIdentityChange);
        var consent = await StartAsync(link);
        var redirect = await _stack.Emulator.ApproveAsync(consent, userId);
        var (status, page) = await CallbackAsync(redirect);
        return (status, page, connectionId);
    }

    public async Task<JsonElement> GetJsonAsync(string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await Api.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"GET {path}: expected {expected}, got {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Browser.Dispose();
        Api.Dispose();
        await Host.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class StackCollection : ICollectionFixture<ConnectStack>
{
    public const string Name = "Connect stack";
}
