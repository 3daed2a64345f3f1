using SyncFunctions.Locking;
using SyncFunctions.Progress;

namespace SyncFunctions.Api;

/// <summary>From the operations table's rows to the wire.</summary>
public static class SyncMapping
{
    public static SyncOperationDto ToDto(this SyncOperationEntity operation, DateTimeOffset now)
    {
        var connectors = operation.ReadConnectorProgress();
        var figures = ProgressFigures.Of(operation, now);
        return new SyncOperationDto(
            operation.SyncId,
            operation.Status,
            operation.ConnectorNames,
            operation.CreatedAt,
            operation.StartedAt,
            operation.CompletedAt,
            figures.ProcessedItems,
            figures.FailedItems,
            operation.ErrorMessage,
            operation.FailureReason,
            new SyncProgressDto(figures.Stage, figures.Percentage, figures.CurrentItem, figures.DoneItems, figures.TotalItems),
            operation.HeartbeatAt,
            operation.HeartbeatAt is { } beat && !operation.IsTerminal ? (int)Math.Max(0, (now - beat).TotalSeconds) : null,
            operation.ExpectedDurationSeconds,
            operation.DeadlineAt,
            operation.TriggeredBy,
            operation.ReplacedSyncId,
            connectors.Select(c => new ConnectorProgressDto(
                c.Connector,
                c.Status,
                c.Stage,
                c.Percentage,
                c.TotalItems,
                c.ProcessedItems,
                c.FailedItems,
                c.CurrentItem,
                c.ErrorMessage,
                c.FailureReason,
                c.ExpectedDurationSeconds,
                c.FailureSamples.Select(f => new ItemFailureDto(f.Item, f.Reason)).ToList(),
                c.Notes)).ToList(),
            operation.NotificationStatus is { } notification
                ? new NotificationDto(notification, operation.NotificationError, operation.NotificationAttempts, operation.NotificationSentAt)
                : null,
            figures.EstimatedSecondsRemaining);
    }

    /// <summary>
    /// A sync whose trigger holds the lock but has not written its operation yet (a few milliseconds):
    /// what the lock says of it, so a conflicting caller still learns which sync is starting.
    /// </summary>
    public static SyncOperationDto Starting(string holderSyncId, DateTimeOffset heldSince) => new(
        holderSyncId,
        SyncStatus.Queued,
        [],
        heldSince,
        null,
        null,
        0,
        0,
        null,
        null,
        new SyncProgressDto(SyncStage.Initializing, 0, null, 0, 0),
        null,
        null,
        0,
        null,
        null,
        null,
        []);

    /// <summary>The latest sync's items: done, failed, in flight, and the rest still to come.</summary>
    public static FileStatusDto FileStatus(SyncOperationEntity? operation)
    {
        if (operation is null)
        {
            return new FileStatusDto(0, 0, 0, 0);
        }

        var processing = operation.IsTerminal ? 0 : operation.ReadConnectorProgress().Sum(c => c.InFlightItems);
        var pending = Math.Max(0, operation.TotalFilesToProcess - operation.FilesProcessed - operation.FilesFailed - processing);
        return new FileStatusDto(pending, processing, operation.FilesFailed, operation.TotalFilesToProcess);
    }
}
