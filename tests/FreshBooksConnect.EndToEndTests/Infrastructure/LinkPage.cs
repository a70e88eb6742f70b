using System.Net;
using System.Text.RegularExpressions;

namespace FreshBooksConnect.EndToEndTests.Infrastructure;

/// <summary>The page an onboarding link opens first, for a client that is not a browser: open it, press its button.</summary>
public static partial class LinkPage
{
    /// <summary>
    /// Opens <paramref name="link"/> with <paramref name="http"/> (which keeps cookies and follows no redirects) and presses the
    /// page's button as a browser does; returns the answer to the press (a 302 to FreshBooks' consent page when all is well).
    /// </summary>
    public static async Task<HttpResponseMessage> ContinueAsync(HttpClient http, string link, Func<string> describe)
    {
        using var page = await http.GetAsync(link);
        var html = await page.Content.ReadAsStringAsync();
        Assert.True(page.StatusCode == HttpStatusCode.OK && html.Contains("Continue to FreshBooks", StringComparison.Ordinal), $"GET {link}: {(int)page.StatusCode}{describe()}");
        var fields = HiddenField().Matches(html).Select(m => new KeyValuePair<string, string>(WebUtility.HtmlDecode(m.Groups["name"].Value), WebUtility.HtmlDecode(m.Groups["value"].Value)));
        var action = WebUtility.HtmlDecode(FormAction().Match(html).Groups["action"].Value);
        using var press = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(link), action)) { Content = new FormUrlEncodedContent(fields) };
        press.Headers.Add("Sec-Fetch-Site", "same-origin");
        return await http.SendAsync(press);
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]*)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex HiddenField();

    [GeneratedRegex("<form method=\"post\" action=\"(?<action>[^\"]*)\">")]
    private static partial Regex FormAction();
}
