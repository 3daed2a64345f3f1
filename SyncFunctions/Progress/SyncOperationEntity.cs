using System.Runtime.Serialization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;

namespace SyncFunctions.Progress;

/// <summary>
/// One sync operation. PartitionKey = tenant; RowKey = <see cref="SyncId.RowKey"/>, newest first.
/// Columns follow the seed's <c>sync_operations</c> schema in Pascal case (HeartbeatAt,
/// ExpectedDurationSeconds, ProgressStage, ProgressPercentage, TotalFilesToProcess, CurrentFileIndex),
/// plus per-connector progress and the events live clients replay.
/// </summary>
public sealed class SyncOperationEntity : ITableEntity
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string SyncId { get; set; } = "";

    public string TenantId { get; set; } = "";

    public string Status { get; set; } = SyncStatus.Queued;

    /// <summary>Comma-separated connector names, in the order they were asked for.</summary>
    public string Connectors { get; set; } = "";

    public string? TriggeredBy { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    public DateTimeOffset? HeartbeatAt { get; set; }

    public int ExpectedDurationSeconds { get; set; }

    public DateTimeOffset? DeadlineAt { get; set; }

    public string ProgressStage { get; set; } = SyncStage.Initializing;

    public int ProgressPercentage { get; set; }

    public int TotalFilesToProcess { get; set; }

    public int CurrentFileIndex { get; set; }

    public string? CurrentFile { get; set; }

    /// <summary>
    /// When every connector knew its work list: from then on the percentage follows the items, and the
    /// rate since then estimates the time left. Null while any connector is still finding its work.
    /// </summary>
    public DateTimeOffset? ProcessingStartedAt { get; set; }

    public int FilesProcessed { get; set; }

    public int FilesFailed { get; set; }

    public string? ErrorMessage { get; set; }

    public string? FailureReason { get; set; }

    public string? ReplacedSyncId { get; set; }

    /// <summary>W3C traceparent of the request that triggered the sync; every run of it joins that trace.</summary>
    public string? TraceParent { get; set; }

    /// <summary>JSON array of <see cref="ConnectorProgress"/>.</summary>
    public string ConnectorProgress { get; set; } = "[]";

    /// <summary>JSON array of the sync's durable live events (<see cref="SyncEventLog"/>).</summary>
    public string Events { get; set; } = "[]";

    /// <summary>The end-of-sync e-mail: sending, retrying, sent, failed or skipped; null before the end or with no transport.</summary>
    public string? NotificationStatus { get; set; }

    public string? NotificationError { get; set; }

    public int NotificationAttempts { get; set; }

    public DateTimeOffset? NotificationSentAt { get; set; }

    [IgnoreDataMember]
    public IReadOnlyList<string> ConnectorNames => Connectors.Split(',', StringSplitOptions.RemoveEmptyEntries);

    [IgnoreDataMember]
    public bool IsTerminal => SyncStatus.IsTerminal(Status);

    public List<ConnectorProgress> ReadConnectorProgress() =>
        JsonSerializer.Deserialize<List<ConnectorProgress>>(ConnectorProgress, Json) ?? [];

    public void WriteConnectorProgress(IEnumerable<ConnectorProgress> progress) =>
        ConnectorProgress = JsonSerializer.Serialize(progress, Json);

    /// <summary>A copy to hand to a write while the original keeps changing; every column is a value or a string.</summary>
    public SyncOperationEntity Clone() => (SyncOperationEntity)MemberwiseClone();
}
