using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>One log call as a sink would store it: the formatted message, every structured value, the scopes and the exception.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyList<string> Values, IReadOnlyList<string> Scopes, string? Exception)
{
    /// <summary>Everything a log sink could keep of this line, as one string to search.</summary>
    public string Everything => string.Join('\n', [Category, EventId.Name ?? "", Message, .. Values, .. Scopes, Exception ?? ""]);

    public override string ToString() => $"[{Level}] {Category} ({EventId.Id}): {Message}";
}

/// <summary>
/// An <see cref="ILoggerProvider"/> that keeps every line it is given, with its structured state and scopes formatted the way
/// Application Insights or a JSON console would keep them, so a test can search them for secrets.
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<CapturedLog> _logs = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<CapturedLog> Logs => _logs.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private static IEnumerable<string> Format(object? value)
    {
        switch (value)
        {
            case null:
                yield break;
            case string text:
                yield return text;
                yield break;
            case IEnumerable<KeyValuePair<string, object?>> pairs:
                foreach (var (key, item) in pairs)
                {
                    yield return $"{key}={Convert.ToString(item, System.Globalization.CultureInfo.InvariantCulture)}";
                }

                yield return value.ToString() ?? "";
                yield break;
            default:
                yield return Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                yield break;
        }
    }

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<string>();
            provider._scopes.ForEachScope((scope, list) => list.AddRange(Format(scope)), scopes);
            provider._logs.Enqueue(new CapturedLog(category, logLevel, eventId, formatter(state, exception), Format(state).ToList(), scopes, exception?.ToString()));
        }
    }
}
