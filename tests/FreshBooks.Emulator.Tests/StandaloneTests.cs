using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FreshBooks.Emulator.Tests;

public sealed partial class StandaloneTests
{
    [Fact]
    public async Task Standalone_emulator_prints_its_url_and_takes_settings_from_configuration()
    {
        var assembly = Path.Combine(AppContext.BaseDirectory, "FreshBooks.Emulator.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { assembly, "--urls", "http://127.0.0.1:0" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["Emulator__ClientId"] = "standalone-client";
        start.Environment["Emulator__RedirectUris__0"] = "https://app.example.com/callback";
        start.Environment["Emulator__Users__0__Id"] = "77";
        start.Environment["Emulator__Users__0__IdentityUuid"] = "uuid-77";
        start.Environment["Emulator__Users__0__FirstName"] = "Mary";
        start.Environment["Emulator__Users__0__LastName"] = "Somerville";
        start.Environment["Emulator__Users__0__Email"] = "mary@example.com";
        start.Environment["Emulator__Users__0__Businesses__0__MembershipId"] = "1";
        start.Environment["Emulator__Users__0__Businesses__0__BusinessId"] = "2";
        start.Environment["Emulator__Users__0__Businesses__0__BusinessUuid"] = "biz-2";
        start.Environment["Emulator__Users__0__Businesses__0__Name"] = "Mechanism Ltd.";
        start.Environment["Emulator__Users__0__Businesses__0__AccountId"] = "MS01";
        start.Environment["Emulator__Users__0__Businesses__0__Role"] = "owner";
        start.Environment["Emulator__Users__0__Businesses__0__Address__City"] = "Burntisland";
        start.Environment["Emulator__Users__0__PhoneNumber"] = "+44 1592 000000";
        // A business without accounting: no AccountId, no Role (the defaults).
        start.Environment["Emulator__Users__0__Businesses__1__MembershipId"] = "3";
        start.Environment["Emulator__Users__0__Businesses__1__BusinessId"] = "4";
        start.Environment["Emulator__Users__0__Businesses__1__BusinessUuid"] = "biz-4";
        start.Environment["Emulator__Users__0__Businesses__1__Name"] = "Somerville Lectures";

        using var process = Process.Start(start)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            var baseUri = new Uri(ListeningOn().Match(line ?? "").Groups[1].Value);

            using var http = new HttpClient { BaseAddress = baseUri };
            using var page = await http.GetAsync("oauth/authorize/?response_type=code&client_id=standalone-client&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback");
            var html = await page.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("Mary Somerville", html);

            using var me = await MeAsync(http, baseUri);
            var user = me.RootElement.GetProperty("response");
            Assert.Equal("+44 1592 000000", user.GetProperty("phone_numbers")[0].GetProperty("phone_number").GetString());
            var businesses = user.GetProperty("business_memberships").EnumerateArray().Select(m => m.GetProperty("business")).ToList();
            Assert.Equal("Burntisland", businesses[0].GetProperty("address").GetProperty("city").GetString());
            Assert.Equal(JsonValueKind.Null, businesses[1].GetProperty("account_id").ValueKind);
            Assert.Equal("owner", user.GetProperty("business_memberships")[1].GetProperty("role").GetString());
            Assert.Equal(["MS01"], user.GetProperty("roles").EnumerateArray().Select(r => r.GetProperty("accountid").GetString()));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Consent through the admin endpoint, code exchange, users/me: what a standalone client sees.</summary>
    private static async Task<JsonDocument> MeAsync(HttpClient http, Uri baseUri)
    {
        var authorize = new Uri(baseUri, "oauth/authorize/?response_type=code&client_id=standalone-client&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback");
        using var approve = await http.PostAsync($"_emulator/approve?url={Uri.EscapeDataString(authorize.AbsoluteUri)}", null);
        var redirect = new Uri((await approve.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("redirect").GetString()!);
        using var exchange = await http.PostAsync("auth/oauth/token", JsonContent.Create(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["client_id"] = "standalone-client",
            ["client_secret"] = "emulator-client-secret",
            ["code"] = TestClient.Query(redirect)["code"].ToString(),
            ["redirect_uri"] = "https://app.example.com/callback",
        }));
        var pair = await TestClient.PairAsync(exchange);
        using var request = new HttpRequestMessage(HttpMethod.Get, "auth/api/v1/users/me");
        request.Headers.Authorization = new("Bearer", pair.AccessToken);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    [GeneratedRegex(@"listening on (http://\S+/)")]
    private static partial Regex ListeningOn();
}
