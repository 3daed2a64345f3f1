using System.Collections.Concurrent;

namespace SyncFunctions.Tests.Infrastructure;

/// <summary>A formatted log line and the values of the scopes it was written in.</summary>
public sealed record LogEntry(string Message, IReadOnlyDictionary<string, object?> Scope)
{
    public LogLevel Level { get; init; }

    /// <summary>The exception logged with the line: what a console prints as a stack trace.</summary>
    public Exception? Exception { get; init; }
}

/// <summary>Keeps every formatted log line of one app, with its scopes, so tests can check the lines operators rely on.</summary>
public sealed class LogCollector : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<string> Lines => _entries.Select(e => e.Message).ToList();

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Collector(this);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Collector(LogCollector owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var scope = new Dictionary<string, object?>(StringComparer.Ordinal);
            owner._scopes.ForEachScope(
                (value, values) =>
                {
                    if (value is IEnumerable<KeyValuePair<string, object>> pairs)
                    {
                        foreach (var (key, item) in pairs)
                        {
                            values[key] = item;
                        }
                    }
                },
                scope);
            // Some of the WebJobs host's own messages format to nothing.
            if (formatter(state, exception) is { } message)
            {
                owner._entries.Enqueue(new LogEntry(message, scope) { Level = logLevel, Exception = exception });
            }
        }
    }
}
