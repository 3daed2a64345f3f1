using System.Text.Json;

namespace SyncFunctions.Progress;

/// <summary>
/// The progress of one sync, as <c>GET /api/sync-progress/{sync_id}</c> answers it and as every live
/// event carries it (snake_case on the wire): one shape, so a client reads both alike.
/// </summary>
public sealed record ProgressSnapshot(
    string SyncId,
    string ConnectorType,
    string Status,
    string Stage,
    int TotalItems,
    int ProcessedItems,
    int FailedItems,
    string? CurrentItem,
    string? ErrorMessage,
    int PercentComplete,
    int? EstimatedSecondsRemaining = null)
{
    /// <summary>The row's <see cref="ProgressFigures"/> at <paramref name="now"/>, in this shape.</summary>
    public static ProgressSnapshot From(SyncOperationEntity operation, DateTimeOffset now)
    {
        var figures = ProgressFigures.Of(operation, now);
        var status = operation.Status switch
        {
            SyncStatus.Completed => "complete",
            SyncStatus.Failed or SyncStatus.Cancelled => "error",
            SyncStatus.Queued => "connecting",
            _ => operation.ProgressStage switch
            {
                SyncStage.Initializing => "connecting",
                SyncStage.DetectingChanges => "syncing",
                SyncStage.ProcessingFiles => "parsing",
                _ => "embedding",
            },
        };
        var names = operation.ConnectorNames;
        return new ProgressSnapshot(
            operation.SyncId,
            names.Count == 1 ? names[0] : string.Join(',', names),
            status,
            figures.Stage,
            figures.TotalItems,
            figures.ProcessedItems,
            figures.FailedItems,
            figures.CurrentItem,
            operation.ErrorMessage,
            figures.Percentage,
            figures.EstimatedSecondsRemaining);
    }
}

/// <summary>
/// A live event. <see cref="Sequence"/> numbers the durable events of a sync (1, 2, …); a passing
/// progress update between two durable events carries the sequence of the last one and is told apart
/// by its done-item count (see <see cref="StreamEventId"/>).
/// </summary>
public sealed record SyncEvent(int Sequence, string Type, DateTimeOffset At, ProgressSnapshot Data)
{
    public const string Started = "started";
    public const string Progress = "progress";
    public const string Complete = "complete";
    public const string Error = "error";

    public bool IsEnd => Type is Complete or Error;
}

/// <summary>
/// The durable events of a sync (started, each stage change and milestone, the end), kept on its
/// operation row and written by the very writes that make them happen: they cost no extra request,
/// a reader on any instance replays them, and a sync has at most a few dozen.
/// </summary>
public static class SyncEventLog
{
    private static readonly JsonSerializerOptions Json = SyncOperationEntity.Json;

    public static IReadOnlyList<SyncEvent> Read(SyncOperationEntity operation) =>
        string.IsNullOrEmpty(operation.Events) ? [] : JsonSerializer.Deserialize<List<SyncEvent>>(operation.Events, Json) ?? [];

    /// <summary>Adds an event describing the row as it is now; call it just before the write that stores the row.</summary>
    public static SyncEvent Append(SyncOperationEntity operation, string type, DateTimeOffset now)
    {
        var events = Read(operation).ToList();
        var appended = new SyncEvent(events.Count == 0 ? 1 : events[^1].Sequence + 1, type, now, ProgressSnapshot.From(operation, now));
        events.Add(appended);
        operation.Events = JsonSerializer.Serialize(events, Json);
        return appended;
    }
}

/// <summary>
/// The id of a live event as Server-Sent Events send it: <c>{sequence}</c> for a durable event and
/// <c>{sequence}.{done}</c> for a passing progress update, so a client resuming with Last-Event-ID gets
/// exactly what it has not seen.
/// </summary>
public readonly record struct StreamEventId(int Sequence, int Done)
{
    public static StreamEventId None => new(0, -1);

    public override string ToString() => Done < 0
        ? Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Sequence}.{Done}");

    public static bool TryParse(string? text, out StreamEventId id)
    {
        id = None;
        if (string.IsNullOrEmpty(text) || text.Length > 24)
        {
            return false;
        }

        var parts = text.Split('.');
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        if (parts.Length > 2 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, invariant, out var sequence))
        {
            return false;
        }

        var done = -1;
        if (parts.Length == 2 && !int.TryParse(parts[1], System.Globalization.NumberStyles.None, invariant, out done))
        {
            return false;
        }

        id = new StreamEventId(sequence, done);
        return true;
    }
}
