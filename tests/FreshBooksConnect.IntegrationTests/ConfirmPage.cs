using System.Net;
using System.Text.RegularExpressions;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>The page an onboarding link opens first, read as a browser reads it: its form, and pressing its button.</summary>
internal static partial class ConfirmPage
{
    /// <summary>The form's hidden fields, decoded, in page order.</summary>
    public static List<KeyValuePair<string, string>> Fields(string html) =>
        [.. HiddenField().Matches(html).Select(m => new KeyValuePair<string, string>(WebUtility.HtmlDecode(m.Groups["name"].Value), WebUtility.HtmlDecode(m.Groups["value"].Value)))];

    /// <summary>
    /// Presses the button of <paramref name="html"/> (served at <paramref name="page"/>) as Chromium does: a form POST to its action
    /// with <c>Sec-Fetch-Site: same-origin</c> and <c>Origin: null</c> (what a browser sends from a no-referrer page).
    /// <paramref name="change"/> alters the request first, to play someone else's form.
    /// </summary>
    public static Task<HttpResponseMessage> PressAsync(HttpClient browser, Uri page, string html, Action<HttpRequestMessage>? change = null)
    {
        var action = FormAction().Match(html);
        Assert.True(action.Success, "the page has no form");
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(page, WebUtility.HtmlDecode(action.Groups["action"].Value)))
        {
            Content = new FormUrlEncodedContent(Fields(html)),
        };
        request.Headers.Add("Sec-Fetch-Site", "same-origin");
        request.Headers.Add("Origin", "null");
        change?.Invoke(request);
        return browser.SendAsync(request);
    }

    /// <summary>
    /// The <c>Cookie</c> header a browser sends back with the page's form: the confirm cookie <paramref name="page"/> set, as
    /// <c>name=value</c>. For a client that keeps no cookies, or an https app tested over http (its cookie is Secure).
    /// </summary>
    public static string ConfirmCookie(HttpResponseMessage page) =>
        Assert.Single(page.Headers.GetValues("Set-Cookie"), h => h.Contains("fbc-confirm-", StringComparison.Ordinal)).Split(';')[0];

    /// <summary>Opens <paramref name="link"/>, which shows the page; returns the page's address and markup.</summary>
    public static async Task<(Uri Page, string Html)> OpenAsync(HttpClient browser, string link)
    {
        using var response = await browser.GetAsync(link);
        var html = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET link: expected the page, got {(int)response.StatusCode}: {html}");
        return (response.RequestMessage!.RequestUri!, html);
    }

    /// <summary>Opens <paramref name="link"/> and presses the page's button; returns FreshBooks' consent URL the browser was sent to.</summary>
    public static async Task<Uri> ContinueAsync(HttpClient browser, string link)
    {
        var (page, html) = await OpenAsync(browser, link);
        using var response = await PressAsync(browser, page, html);
        Assert.True(response.StatusCode == HttpStatusCode.Found, $"POST connect: expected 302, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return response.Headers.Location!;
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]*)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex HiddenField();

    [GeneratedRegex("<form method=\"post\" action=\"(?<action>[^\"]*)\">")]
    private static partial Regex FormAction();
}
