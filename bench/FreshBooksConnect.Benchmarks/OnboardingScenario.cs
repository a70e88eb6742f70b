using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using static FreshBooksConnect.Benchmarks.Report;

namespace FreshBooksConnect.Benchmarks;

/// <summary>Section 3 of the report: onboarding round trips (Start, consent at the emulator, Callback) from one browser.</summary>
internal static class OnboardingScenario
{
    internal static async Task RunAsync(Stack stack, StringBuilder md, int runs, bool quick)
    {
        var perRun = quick ? 50 : 200;
        md.AppendLine(Inv, $"## 3. Onboarding: Start + Callback (emulator 0 ms), {perRun} sequential onboardings per run").AppendLine();
        md.AppendLine("Per onboarding: `POST /api/onboarding-links` (not timed), then timed: `GET` the link (Start, 302 + consent cookie) → `emulator.ApproveAsync` (in-process, no HTTP) → `GET` the callback (code exchange + `users/me` at the emulator, connection stored).").AppendLine();
        stack.Emulator.Faults.Latency = TimeSpan.Zero;
        await stack.ResetAsync();
        var rate = new List<double>(); var p50 = new List<double>(); var p99 = new List<double>(); var startP50 = new List<double>(); var cbP50 = new List<double>();
        long errors = 0;
        for (var run = 0; run < runs; run++)
        {
            var cookies = new CookieContainer();
            using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = stack.Host.BaseUri };
            var total = new List<double>(); var starts = new List<double>(); var callbacks = new List<double>();
            double timedSeconds = 0;
            for (var i = 0; i < perRun; i++)
            {
                using var linkResponse = await stack.Api.PostAsync("api/onboarding-links", JsonContent($"{{\"tenantId\":\"bench-{run}-{i}\"}}"));
                var link = JsonDocument.Parse(await linkResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("url").GetString()!;
                var t0 = Stopwatch.GetTimestamp();
                using var start = await browser.GetAsync(link);
                var t1 = Stopwatch.GetTimestamp();
                if (start.StatusCode != HttpStatusCode.Found)
                {
                    errors++;
                    continue;
                }

                var redirect = await stack.Emulator.ApproveAsync(start.Headers.Location!);
                var t2 = Stopwatch.GetTimestamp();
                using var callback = await browser.GetAsync(redirect);
                await callback.Content.ReadAsStringAsync();
                var t3 = Stopwatch.GetTimestamp();
                if (callback.StatusCode != HttpStatusCode.OK)
                {
                    errors++;
                }

                starts.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                callbacks.Add(Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds);
                total.Add(Stopwatch.GetElapsedTime(t0, t3).TotalMilliseconds);
                timedSeconds += Stopwatch.GetElapsedTime(t0, t3).TotalSeconds;
            }

            rate.Add(total.Count / timedSeconds);
            p50.Add(Stats.Percentile([.. total], 0.5));
            p99.Add(Stats.Percentile([.. total], 0.99));
            startP50.Add(Stats.Percentile([.. starts], 0.5));
            cbP50.Add(Stats.Percentile([.. callbacks], 0.5));
            Console.WriteLine($"  onboarding run {run + 1}: {rate[^1]:F1}/s, p50 {p50[^1]:F1} ms, p99 {p99[^1]:F1} ms");
        }

        md.AppendLine("| onboardings/s (1 browser) | p50 | p99 | Start p50 | Callback p50 | errors |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|");
        md.AppendLine(Inv, $"| {Num(rate)} | {Ms2(p50)} | {Ms2(p99)} | {Stats.Median(startP50):F1} ms | {Stats.Median(cbP50):F1} ms | {errors} |").AppendLine();
    }

    private static StringContent JsonContent(string json) => new(json, Encoding.UTF8, "application/json");
}
