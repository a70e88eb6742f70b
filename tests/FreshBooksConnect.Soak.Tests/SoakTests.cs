using FreshBooksConnect.Soak;
using Xunit.Abstractions;

namespace FreshBooksConnect.Soak.Tests;

public sealed class SoakTests(ITestOutputHelper output)
{
    /// <summary>
    /// The soak harness itself (Azurite on disk, the emulator, three app processes, every fault at once) for a short run with the
    /// suite's seed: about two and a half minutes of faults and a minute or two to settle. Fails with the harness's report.
    /// </summary>
    [Fact]
    public async Task Every_fault_at_once_for_a_few_minutes_loses_no_connection_FreshBooks_did_not_lose()
    {
        var options = new SoakOptions
        {
            Duration = TimeSpan.FromMinutes(2.5),
            Seed = SoakOptions.SuiteSeed,
            LogDirectory = Path.Combine(AppContext.BaseDirectory, "soak"),
        };
        using var progress = new StringWriter();
        var report = await new SoakRun(options, progress).RunAsync(CancellationToken.None);
        output.WriteLine(progress.ToString());
        output.WriteLine(report.Text);
        Assert.True(report.Passed, report.Text);
    }
}
