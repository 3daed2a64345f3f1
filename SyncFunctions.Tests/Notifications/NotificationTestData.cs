using SyncFunctions.Progress;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Notifications;

internal static class NotificationTestData
{
    /// <summary>
    /// An operation as a run leaves it when it ends, written straight to the table: for tests that drive
    /// the notifier by hand (local drivers off), with one failed item sample to show.
    /// </summary>
    public static async Task<SyncOperationEntity> InsertEndedSyncAsync(SyncApp app, string tenant, DateTimeOffset now, string status = SyncStatus.Completed, string? triggeredBy = "owner@tests.example")
    {
        var operation = new SyncOperationEntity
        {
            SyncId = SyncId.New(now - TimeSpan.FromMinutes(2)),
            TenantId = tenant,
            Status = SyncStatus.Running,
            Connectors = "demo",
            TriggeredBy = triggeredBy,
            CreatedAt = now - TimeSpan.FromMinutes(2),
            StartedAt = now - TimeSpan.FromMinutes(2),
            HeartbeatAt = now,
            TotalFilesToProcess = 10,
            FilesProcessed = 9,
            FilesFailed = 1,
        };
        operation.WriteConnectorProgress([new ConnectorProgress
        {
            Connector = "demo",
            Status = SyncStatus.Running,
            Stage = SyncStage.Finalizing,
            TotalItems = 10,
            ProcessedItems = 9,
            FailedItems = 1,
            FailureSamples = [new ItemFailure("Report <Q3>.pdf", "Unreadable & damaged")],
        }]);
        SyncOperationStore.MarkEnded(operation, status, status == SyncStatus.Completed ? null : FailureReason.ConnectorError, status == SyncStatus.Completed ? null : "The source answered 500.", now);
        await app.Get<SyncOperationStore>().InsertAsync(operation, CancellationToken.None);
        return operation;
    }
}
