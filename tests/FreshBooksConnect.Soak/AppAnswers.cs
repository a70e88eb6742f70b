using System.Collections.Concurrent;
using System.Net;

namespace FreshBooksConnect.Soak;

/// <summary>An answer that breaks "no 500; every refusal a 4xx or a 503 with Retry-After".</summary>
internal sealed record BadAnswer(DateTimeOffset At, string Route, int Instance, int Status, string Excerpt);

/// <summary>A token an app handed out that FreshBooks had already killed, or that had expired, before it was asked for.</summary>
internal sealed record DeadTokenServed(DateTimeOffset AskedAt, string Route, int Instance, string ConnectionId, IssuedPair? Pair, string Token);

/// <summary>Every answer the app instances gave the soak's callers, by route and status, and the ones that break the rules.</summary>
internal sealed class AppAnswers
{
    private readonly ConcurrentDictionary<(string Route, int Status), int> _counts = new();
    private readonly ConcurrentQueue<BadAnswer> _bad = new();
    private readonly ConcurrentQueue<DeadTokenServed> _dead = new();
    private int _unanswered;
    private int _unansweredWhileUp;

    public IReadOnlyCollection<BadAnswer> Bad => _bad;

    public IReadOnlyCollection<DeadTokenServed> DeadTokens => _dead;

    /// <summary>Requests that got no answer: the instance was down, or went down while answering (killed, stopped).</summary>
    public int Unanswered => Volatile.Read(ref _unanswered);

    /// <summary>Of those, the ones sent to an instance the soak had not killed or stopped by the time it gave up (time-outs).</summary>
    public int UnansweredWhileUp => Volatile.Read(ref _unansweredWhileUp);

    public int Count(string route, Func<int, bool> status) => _counts.Where(c => c.Key.Route == route && status(c.Key.Status)).Sum(c => c.Value);

    public IEnumerable<(string Route, int Status, int Count)> All => _counts.Select(c => (c.Key.Route, c.Key.Status, c.Value)).OrderBy(c => c.Route).ThenBy(c => c.Status);

    /// <summary>
    /// Counts an answer of FreshBooks' own that the proxy passed on (a 5xx without the app's problem body): FreshBooks' status,
    /// not the app's, so the 5xx rule does not judge it.
    /// </summary>
    public void PassedOn(string route, HttpResponseMessage response) =>
        _counts.AddOrUpdate((route + ", FreshBooks' own answer", (int)response.StatusCode), 1, (_, n) => n + 1);

    /// <summary>Counts the answer; a 5xx other than a 503 with Retry-After is a finding.</summary>
    public async Task RecordAsync(string route, int instance, HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        _counts.AddOrUpdate((route, status), 1, (_, n) => n + 1);
        if (status >= 500 && !(status == (int)HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter is not null))
        {
            var body = await response.Content.ReadAsStringAsync();
            _bad.Enqueue(new BadAnswer(DateTimeOffset.UtcNow, route, instance, status, Excerpt(body)));
        }
    }

    /// <summary>An answer whose status is fine but whose body is not (a proxied 200 cut short): a finding.</summary>
    public void Broken(string route, int instance, string what) => _bad.Enqueue(new BadAnswer(DateTimeOffset.UtcNow, route, instance, 200, what));

    public void NoAnswer(bool instanceStillUp)
    {
        Interlocked.Increment(ref _unanswered);
        if (instanceStillUp)
        {
            Interlocked.Increment(ref _unansweredWhileUp);
        }
    }

    public void Dead(DeadTokenServed served) => _dead.Enqueue(served);

    /// <summary>A page's title or a problem's title: enough to say which answer it was, never a token (answers with tokens are 200s).</summary>
    private static string Excerpt(string body)
    {
        var title = body.IndexOf("<title>", StringComparison.Ordinal) is var at and >= 0 ? body[(at + 7)..].Split('<')[0]
            : body.IndexOf("\"title\":\"", StringComparison.Ordinal) is var json and >= 0 ? body[(json + 9)..].Split('"')[0]
            : body;
        return title.Length > 120 ? title[..120] : title;
    }
}
