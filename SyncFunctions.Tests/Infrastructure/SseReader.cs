using System.Text;
using System.Text.Json;

namespace SyncFunctions.Tests.Infrastructure;

public sealed record SseEvent(string? Id, string Type, JsonElement Data);

/// <summary>Reads a Server-Sent Events response as an EventSource would: events, and comments apart.</summary>
public sealed class SseReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8);

    public List<string> Comments { get; } = [];

    /// <summary>The next event, or null when the server closed the stream.</summary>
    public async Task<SseEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        string? id = null;
        string? type = null;
        var data = new StringBuilder();
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    return new SseEvent(id, type ?? "message", JsonDocument.Parse(data.ToString()).RootElement.Clone());
                }

                continue;
            }

            if (line.StartsWith(':'))
            {
                Comments.Add(line);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Append(line[6..]);
            }
        }

        return null;
    }

    /// <summary>Every event until the server closes the stream (bounded by the timeout).</summary>
    public async Task<List<SseEvent>> ReadToEndAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var events = new List<SseEvent>();
        while (await ReadAsync(cancel.Token) is { } e)
        {
            events.Add(e);
        }

        return events;
    }

    public void Dispose() => _reader.Dispose();
}
