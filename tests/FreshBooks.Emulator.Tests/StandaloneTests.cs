using System.Diagnostics;
using System.Net;
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
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [GeneratedRegex(@"listening on (http://\S+/)")]
    private static partial Regex ListeningOn();
}
