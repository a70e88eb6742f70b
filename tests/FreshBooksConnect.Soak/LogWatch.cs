using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using FreshBooksConnect.Testing;

namespace FreshBooksConnect.Soak;

/// <summary>A log line of an app instance that holds a secret (the secret itself is never printed, only its kind).</summary>
internal sealed record LeakedSecret(int Instance, string Kind, string Line);

/// <summary>
/// Reads every line the app instances write (stdout and stderr) for the secrets the soak knows: tokens and codes FreshBooks
/// issued (64 hex characters), consent states and cookies, onboarding links, the keys and the client secret it configured. Each
/// line is checked as it arrives against what is known by then, and every log file again at the end against everything.
/// </summary>
internal sealed partial class LogWatch(TokenLedger ledger)
{
    private readonly ConcurrentDictionary<string, string> _secrets = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<LeakedSecret> _leaks = new();
    private readonly ConcurrentQueue<(int, string, DateTimeOffset)> _givenUp = new();
    private readonly ConcurrentDictionary<string, int> _exports = new(StringComparer.Ordinal);
    private long _lines;

    public IReadOnlyCollection<LeakedSecret> Leaks => _leaks;

    public long Lines => Interlocked.Read(ref _lines);

    /// <summary>A secret the soak configured or received (link, state, cookie, key): <paramref name="kind"/> names it in a finding.</summary>
    public void Add(string secret, string kind)
    {
        if (secret.Length >= 12)
        {
            _secrets.TryAdd(secret, kind);
        }
    }

    /// <summary>Event 2004 lines (a received pair given up), by instance and connection, with when they were read.</summary>
    public IReadOnlyCollection<(int Instance, string ConnectionId, DateTimeOffset At)> PairsGivenUp => _givenUp;

    public void Scan(int instance, string line)
    {
        Interlocked.Increment(ref _lines);
        if (GivenUp().Match(line) is { Success: true } givenUp)
        {
            _givenUp.Enqueue((instance, givenUp.Groups[1].Value, DateTimeOffset.UtcNow));
        }

        if (Find(line, hex => ledger.ByAccessToken(hex) is not null || ledger.ByRefreshToken(hex) is not null) is { } kind)
        {
            _leaks.Enqueue(new LeakedSecret(instance, kind, Redact(line)));
        }
    }

    /// <summary>Telemetry exports read, by signal.</summary>
    public IReadOnlyDictionary<string, int> Exports => _exports;

    /// <summary>
    /// One OTLP export of an instance (its source path is <c>app{N}</c>): the protobuf body holds every string as UTF-8, so a
    /// token, code, link, state or key is found in it as in a log line; so is a query string of the Start or Callback route.
    /// </summary>
    public void ScanTelemetry(OtlpReceiver.Export export)
    {
        _exports.AddOrUpdate(export.Signal, 1, (_, n) => n + 1);
        var instance = int.Parse(export.Source.AsSpan("app".Length), CultureInfo.InvariantCulture);
        var text = Encoding.UTF8.GetString(export.Body);
        var kind = Find(text, hex => ledger.ByAccessToken(hex) is not null || ledger.ByRefreshToken(hex) is not null)
            ?? (RouteQuery().IsMatch(text) ? "a query string of /api/connect or /api/callback" : null);
        if (kind is not null)
        {
            _leaks.Enqueue(new LeakedSecret(instance, $"{kind} (telemetry: {export.Signal})", Redact(RouteQuery().Match(text) is { Success: true } m ? m.Value : "")));
        }
    }

    /// <summary>Every log file once more, against every token, code and secret known at the end.</summary>
    public void ScanFiles(IEnumerable<(int Instance, string Path)> files)
    {
        var secretIn = SecretFinder();
        var before = _leaks.Select(l => (l.Instance, l.Line)).ToHashSet();
        foreach (var (instance, path) in files.Where(f => File.Exists(f.Path)))
        {
            foreach (var line in File.ReadLines(path))
            {
                if (secretIn(line) is { } kind && !before.Contains((instance, Redact(line))))
                {
                    _leaks.Enqueue(new LeakedSecret(instance, kind, Redact(line)));
                }
            }
        }
    }

    /// <summary>
    /// Tells what secret (its kind) a text holds, against everything known now, or null when none. The set of tokens and codes is
    /// built once per finder: a final check runs it over thousands of lines and events.
    /// </summary>
    public Func<string, string?> SecretFinder()
    {
        var issued = ledger.Secrets().ToHashSet(StringComparer.Ordinal);
        return text => Find(text, issued.Contains);
    }

    private string? Find(string line, Func<string, bool> issued)
    {
        foreach (Match run in HexRun().Matches(line))
        {
            for (var start = 0; start + 64 <= run.Length; start++)
            {
                if (issued(run.Value.Substring(start, 64)))
                {
                    return "a FreshBooks token or code";
                }
            }
        }

        foreach (var (secret, kind) in _secrets)
        {
            if (line.Contains(secret, StringComparison.Ordinal))
            {
                return kind;
            }
        }

        return null;
    }

    /// <summary>What a report may show of a leaking line: its shape, with every long run of token characters cut.</summary>
    private static string Redact(string line) => LongRun().Replace(line.Length > 200 ? line[..200] : line, m => m.Value[..4] + "…");

    [GeneratedRegex(@"Connection (\S+): FreshBooks issued a new token pair that could not be saved")]
    private static partial Regex GivenUp();

    [GeneratedRegex(@"/api/(connect|callback)\?[^\s""]")]
    private static partial Regex RouteQuery();

    [GeneratedRegex("[0-9a-f]{64,}")]
    private static partial Regex HexRun();

    [GeneratedRegex("[A-Za-z0-9_+/=.-]{16,}")]
    private static partial Regex LongRun();
}
