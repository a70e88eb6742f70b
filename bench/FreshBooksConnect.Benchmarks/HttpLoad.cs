using System.Collections.Concurrent;
using System.Diagnostics;

namespace FreshBooksConnect.Benchmarks;

/// <summary>Closed-loop HTTP load: C loops, each sending the next request as soon as the last answer was read.</summary>
internal static class HttpLoad
{
    /// <summary>A pooled client for <paramref name="baseUri"/>, with the function key when given.</summary>
    internal static HttpClient Client(Uri baseUri, string? functionKey = null)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = TimeSpan.FromMinutes(10) }) { BaseAddress = baseUri };
        if (functionKey is not null)
        {
            client.DefaultRequestHeaders.Add("x-functions-key", functionKey);
        }

        return client;
    }

    /// <summary>
    /// 1 s of untimed calls at the same concurrency (connections opened, code warm), then <paramref name="duration"/> timed;
    /// any status other than 200 counts as an error.
    /// </summary>
    internal static async Task<LoadFigures> RunAsync(HttpClient client, int concurrency, TimeSpan duration, Func<Random, HttpRequestMessage> request)
    {
        await LoopAsync(client, concurrency, TimeSpan.FromSeconds(1), request);
        return await LoopAsync(client, concurrency, duration, request);
    }

    private static async Task<LoadFigures> LoopAsync(HttpClient client, int concurrency, TimeSpan duration, Func<Random, HttpRequestMessage> request)
    {
        var latencies = new ConcurrentBag<double[]>();
        long errors = 0, count = 0;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
        {
            var random = new Random((w * 7919) + 1);
            var mine = new List<double>(8192);
            while (sw.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    using var message = request(random);
                    using var response = await client.SendAsync(message, HttpCompletionOption.ResponseContentRead);
                    await response.Content.ReadAsByteArrayAsync();
                    if (response.StatusCode != System.Net.HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }

                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                Interlocked.Increment(ref count);
            }

            latencies.Add([.. mine]);
        }));
        return new LoadFigures(count, errors, sw.Elapsed.TotalSeconds, [.. latencies.SelectMany(l => l)]);
    }
}

internal sealed record LoadFigures(long Count, long Errors, double Seconds, double[] Latencies)
{
    public double RequestsPerSecond => Count / Seconds;

    public double P50 => Stats.Percentile(Latencies, 0.50);

    public double P99 => Stats.Percentile(Latencies, 0.99);
}

/// <summary>Several runs of one measurement, written as median (min–max).</summary>
internal sealed class RunSet
{
    public List<double> Rps { get; } = [];

    public List<double> P50 { get; } = [];

    public List<double> P99 { get; } = [];

    public long Errors { get; private set; }

    public void Add(LoadFigures figures)
    {
        Rps.Add(figures.RequestsPerSecond);
        P50.Add(figures.P50);
        P99.Add(figures.P99);
        Errors += figures.Errors;
    }

    public double MedianRps => Stats.Median(Rps);

    public double MedianP50 => Stats.Median(P50);

    public double MedianP99 => Stats.Median(P99);
}
