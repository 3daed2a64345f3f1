using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using SyncFunctions.Connectors;
using SyncFunctions.Progress;
using SyncFunctions.Storage;

namespace SyncFunctions.TextbookPeer;

/// <summary>
/// The textbook sync's activities, on the app's own demo connector, connection store and operation rows, so the peer
/// does the same work and the same begin/end row writes as SyncFunctions. Each runs at least once: row writes are
/// upserts and each item's document is one blob written over, so a repeat is harmless.
/// </summary>
public sealed partial class TextbookActivities(ConnectionStore connections, ConnectorRegistry registry, SyncStorage storage, TimeProvider time, ILogger<TextbookActivities> logger)
{
    public const string BeginName = "TextbookBegin";
    public const string ProcessItemName = "TextbookProcessItem";
    public const string EndName = "TextbookEnd";

    /// <summary>Marks the run running on its operation row and detects the items: the fan-out's list.</summary>
    [Function(BeginName)]
    public async Task<List<WorkItem>> BeginAsync([ActivityTrigger] TextbookRequest run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        var now = time.GetUtcNow();
        await MergeRowAsync(run, new()
        {
            [nameof(SyncOperationEntity.Status)] = SyncStatus.Running,
            [nameof(SyncOperationEntity.CreatedAt)] = now,
            [nameof(SyncOperationEntity.StartedAt)] = now,
            [nameof(SyncOperationEntity.HeartbeatAt)] = now,
            [nameof(SyncOperationEntity.ProgressStage)] = SyncStage.DetectingChanges,
        }, cancellationToken).ConfigureAwait(false);

        await using var session = await ConnectAsync(run, cancellationToken).ConfigureAwait(false);
        var changes = await session.DetectChangesAsync(cancellationToken).ConfigureAwait(false);
        await MergeRowAsync(run, new()
        {
            [nameof(SyncOperationEntity.ProgressStage)] = SyncStage.ProcessingFiles,
            [nameof(SyncOperationEntity.TotalFilesToProcess)] = changes.Items.Count,
        }, cancellationToken).ConfigureAwait(false);
        return [.. changes.Items];
    }

    /// <summary>One item, as the backup sample copies one file: connect, process, store its document. A failed item is counted, not fatal.</summary>
    [Function(ProcessItemName)]
    public async Task<bool> ProcessItemAsync([ActivityTrigger] TextbookItem input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        await using var session = await ConnectAsync(input.Run, cancellationToken).ConfigureAwait(false);
        SyncDocument? document;
        try
        {
            document = await session.ProcessItemAsync(input.Item, cancellationToken).ConfigureAwait(false);
        }
        catch (ItemFailedException e)
        {
            LogItemFailed(logger, input.Run.RunId, input.Item.Key, e.Message);
            return false;
        }

        if (document is not null)
        {
            var blob = storage.Documents.GetBlobClient($"{input.Run.TenantId}/{TextbookNames.Connector}/{input.Run.RunId}/items/{input.Item.Key}.json");
            await blob.UploadAsync(BinaryData.FromObjectAsJson(document, ConnectorJson.Options), overwrite: true, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>The run's end on its operation row.</summary>
    [Function(EndName)]
    public async Task EndAsync([ActivityTrigger] TextbookOutcome outcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        await MergeRowAsync(outcome.Run, new()
        {
            [nameof(SyncOperationEntity.Status)] = SyncStatus.Completed,
            [nameof(SyncOperationEntity.CompletedAt)] = time.GetUtcNow(),
            [nameof(SyncOperationEntity.ProgressStage)] = SyncStage.Finalizing,
            [nameof(SyncOperationEntity.ProgressPercentage)] = 100,
            [nameof(SyncOperationEntity.FilesProcessed)] = outcome.Processed,
            [nameof(SyncOperationEntity.FilesFailed)] = outcome.Failed,
        }, cancellationToken).ConfigureAwait(false);
        LogCompleted(logger, outcome.Run.RunId);
    }

    private async Task<IConnectorSession> ConnectAsync(TextbookRequest run, CancellationToken cancellationToken)
    {
        var connection = await connections.GetAsync(run.TenantId, TextbookNames.Connector, cancellationToken).ConfigureAwait(false);
        if (connection is null || !registry.TryGet(TextbookNames.Connector, out var connector))
        {
            throw new ConnectorException($"Tenant {run.TenantId} has no {TextbookNames.Connector} connection.");
        }

        return await connector.ConnectAsync(new ConnectorContext(run.TenantId, run.RunId, connection.Settings), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Merges <paramref name="fields"/> into the run's operation row (the app's columns; the others keep their stored values).</summary>
    private async Task MergeRowAsync(TextbookRequest run, Dictionary<string, object> fields, CancellationToken cancellationToken)
    {
        var row = new TableEntity(fields)
        {
            PartitionKey = run.TenantId,
            RowKey = SyncId.RowKey(run.RunId),
            [nameof(SyncOperationEntity.SyncId)] = run.RunId,
            [nameof(SyncOperationEntity.TenantId)] = run.TenantId,
            [nameof(SyncOperationEntity.Connectors)] = TextbookNames.Connector,
        };
        await storage.Operations.UpsertEntityAsync(row, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} completed successfully")]
    private static partial void LogCompleted(ILogger logger, string syncId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId}: item {ItemKey} failed: {Reason}")]
    private static partial void LogItemFailed(ILogger logger, string syncId, string itemKey, string reason);
}
