using Microsoft.Playwright;

namespace FreshBooksConnect.EndToEndTests.Infrastructure;

/// <summary>One <c>./run.sh</c> (free ports) and one headless Chromium, shared by the browser tests.</summary>
public sealed class BrowserStack : IAsyncLifetime
{
    /// <summary>run.sh builds first: a fresh checkout's first build takes a while on two cores.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(5);

    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private RunCommand? _run;

    public RunCommand Run => _run ?? throw new InvalidOperationException("Not started.");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Not started.");

    /// <summary>The onboarding link run.sh printed (tenant "demo").</summary>
    public string Link { get; private set; } = "";

    public static string ScreenshotDirectory { get; } = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

    public async Task InitializeAsync()
    {
        try
        {
            _playwright = await Playwright.CreateAsync();
            _browser = await Chromium.LaunchAsync(_playwright);
            // Free ports come from the ephemeral range, where an outbound connection may take one before run.sh binds it (CI saw
            // the emulator's bind fail so): a run that exits before its link starts again on other ports, three times at most.
            for (var attempt = 1; ; attempt++)
            {
                _run = RunCommand.Start("browser", RunPorts.Free());
                try
                {
                    Link = await _run.WaitForLinkAsync(StartTimeout);
                    break;
                }
                catch (InvalidOperationException) when (attempt < 3 && _run.HasExited)
                {
                    await _run.DisposeAsync();
                }
            }
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
            _browser = null;
        }

        _playwright?.Dispose();
        _playwright = null;
        if (_run is not null)
        {
            await _run.DisposeAsync();
        }
    }
}
