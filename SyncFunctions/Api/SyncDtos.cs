using System.Text.Json.Serialization;

namespace SyncFunctions.Api;

// Wire shapes of the HTTP contract (snake_case on the wire). Table entities never leave the server.

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record TriggerSyncRequest(IReadOnlyList<string>? Connectors);

public sealed record TriggerSyncResponse(
    string SyncId,
    string Status,
    string StatusUrl,
    string StreamUrl,
    int ExpectedDurationSeconds,
    string? ReplacedSyncId);

public sealed record SyncConflictResponse(bool Success, bool Conflict, string Message, SyncOperationDto? LatestSync);

public sealed record SyncOperationDto(
    string Id,
    string Status,
    IReadOnlyList<string> ConnectorNames,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    int FilesProcessed,
    int FilesFailed,
    string? ErrorMessage,
    string? FailureReason,
    SyncProgressDto Progress,
    DateTimeOffset? HeartbeatAt,
    int? HeartbeatAgeSeconds,
    int ExpectedDurationSeconds,
    DateTimeOffset? DeadlineAt,
    string? TriggeredBy,
    string? ReplacedSyncId,
    IReadOnlyList<ConnectorProgressDto> Connectors,
    NotificationDto? Notification = null,
    int? EstimatedSecondsRemaining = null);

/// <summary>The end-of-sync e-mail: sending, retrying, sent, failed or skipped, with the last error.</summary>
public sealed record NotificationDto(string Status, string? Error, int Attempts, DateTimeOffset? SentAt);

public sealed record SyncProgressDto(string Stage, int Percentage, string? CurrentFile, int CurrentFileIndex, int TotalFiles);

public sealed record ConnectorProgressDto(
    string Connector,
    string Status,
    string Stage,
    int Percentage,
    int TotalItems,
    int ProcessedItems,
    int FailedItems,
    string? CurrentItem,
    string? ErrorMessage,
    string? FailureReason,
    int? ExpectedDurationSeconds,
    IReadOnlyList<ItemFailureDto> FailureSamples,
    IReadOnlyList<string> Notes);

public sealed record ItemFailureDto(string Item, string Reason);

public sealed record FileStatusDto(int Pending, int Processing, int Failed, int Total);

public sealed record SyncStatusResponse(SyncOperationDto? LatestSync, FileStatusDto FileStatus);

public sealed record SyncHistoryResponse(IReadOnlyList<SyncOperationDto> Items, string? NextPageToken);

public sealed record CleanupResponse(int Cleaned, IReadOnlyList<string> SyncIds);

public sealed record IntegrationSyncResponse(bool Success, string SyncId, string StatusUrl);
