using Microsoft.Playwright;

namespace FreshBooksConnect.EndToEndTests.Infrastructure;

/// <summary>Debian's Chromium, driven by Playwright (Playwright's own browser download is neither possible nor needed here).</summary>
public static class Chromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    public static async Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        if (!File.Exists(ExecutablePath))
        {
            // A failure, not a skip: without a browser the product's pages go untested.
            throw new InvalidOperationException(
                $"Chromium is not installed ({ExecutablePath} is missing). Run ./test.sh, which installs it, or: sudo apt-get install chromium");
        }

        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
    }
}
