using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Connectors;
using SyncFunctions.Progress;
using SyncFunctions.Telemetry;

namespace SyncFunctions.Sync;

/// <summary>How one connector's part of a run ended.</summary>
public sealed record ConnectorResult(string Connector, string Status, string? FailureReason, string? ErrorMessage);

/// <summary>
/// One connector's activity in a run: connect (connect timeout) → detect changes → its adaptive
/// timeout → items with bounded parallelism (a failing item is counted, not fatal) → documents to the
/// sink → commit. The activity never throws for the connector's own failures; it reports them.
/// Cancellation from outside (operation timeout, cancel, lost run, shutdown) propagates.
/// </summary>
public sealed partial class ConnectorActivity(
    ConnectionStore connections,
    ConnectorRegistry registry,
    DocumentSink sink,
    SyncMetrics metrics,
    TimeProvider time,
    IOptions<SyncOptions> options,
    ILogger<ConnectorActivity> logger)
{
    /// <param name="workKnown">Called once with the item count (0 when the connector failed before it knew).</param>
    public async Task<ConnectorResult> RunAsync(string connectorName, RunProgress progress, Func<int, CancellationToken, Task> workKnown, CancellationToken runToken)
    {
        using var span = SyncMetrics.StartConnector(progress.SyncId, progress.TenantId, connectorName, progress.TraceParent);
        var result = await RunConnectorAsync(connectorName, progress, workKnown, runToken).ConfigureAwait(false);
        span?.SetTag("connector.status", result.Status);
        if (result.Status != SyncStatus.Completed)
        {
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, result.FailureReason);
        }

        return result;
    }

    private async Task<ConnectorResult> RunConnectorAsync(string connectorName, RunProgress progress, Func<int, CancellationToken, Task> workKnown, CancellationToken runToken)
    {
        var known = false;
        async Task KnowWork(int count)
        {
            if (!known)
            {
                known = true;
                await workKnown(count, runToken).ConfigureAwait(false);
            }
        }

        using var connectTimeout = new CancellationTokenSource(options.Value.ConnectTimeout, time);
        using var activityTimeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        try
        {
            var connection = await connections.GetAsync(progress.TenantId, connectorName, runToken).ConfigureAwait(false);
            if (connection is null || !registry.TryGet(connectorName, out var connector))
            {
                await KnowWork(0).ConfigureAwait(false);
                return await EndAsync(progress, connectorName, SyncStatus.Failed, FailureReason.ConnectionMissing,
                    $"The {connectorName} connection is not configured for this tenant.", runToken).ConfigureAwait(false);
            }

            var context = new ConnectorContext(progress.TenantId, progress.SyncId, connection.Settings);
            IConnectorSession session;
            using (var connecting = CancellationTokenSource.CreateLinkedTokenSource(runToken, connectTimeout.Token))
            {
                try
                {
                    session = await connector.ConnectAsync(context, connecting.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (connectTimeout.IsCancellationRequested && !runToken.IsCancellationRequested)
                {
                    await KnowWork(0).ConfigureAwait(false);
                    return await EndAsync(progress, connectorName, SyncStatus.Failed, FailureReason.TimedOut,
                        string.Create(CultureInfo.InvariantCulture, $"Connecting to {connectorName} timed out after {options.Value.ConnectTimeoutSeconds} s."), runToken).ConfigureAwait(false);
                }
            }

            await using (session.ConfigureAwait(false))
            {
                await progress.StageAsync(connectorName, SyncStage.DetectingChanges, runToken).ConfigureAwait(false);
                var changes = await session.DetectChangesAsync(runToken).ConfigureAwait(false);
                foreach (var note in changes.Notes)
                {
                    LogNote(logger, progress.SyncId, connectorName, note);
                }

                var timeoutSeconds = progress.TimeoutFor(changes.Items.Count);
                activityTimeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
                await progress.TotalKnownAsync(connectorName, changes.Items.Count, timeoutSeconds, changes.Notes, runToken).ConfigureAwait(false);
                await KnowWork(changes.Items.Count).ConfigureAwait(false);

                using var working = CancellationTokenSource.CreateLinkedTokenSource(runToken, activityTimeout.Token);
                using var documents = sink.OpenWriter(progress.TenantId, connectorName, progress.SyncId, progress.Attempt);
                try
                {
                    var succeeded = await ProcessAsync(connectorName, session, changes.Items, documents, progress, working.Token).ConfigureAwait(false);

                    await progress.StageAsync(connectorName, SyncStage.UpdatingEmbeddings, working.Token).ConfigureAwait(false);
                    await documents.FlushAsync(working.Token).ConfigureAwait(false);

                    await progress.StageAsync(connectorName, SyncStage.Finalizing, working.Token).ConfigureAwait(false);

                    // At-least-once checkpoint: committed only after every item was attempted and every
                    // document written. A crash before this line re-detects the same changes next time.
                    await session.CommitAsync(succeeded, working.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (activityTimeout.IsCancellationRequested && !runToken.IsCancellationRequested)
                {
                    LogTimedOut(logger, progress.SyncId, connectorName, timeoutSeconds);
                    return await EndAsync(progress, connectorName, SyncStatus.Failed, FailureReason.TimedOut,
                        string.Create(CultureInfo.InvariantCulture, $"The {connectorName} connector timed out after {timeoutSeconds} s (adaptive timeout for {changes.Items.Count} items)."), runToken).ConfigureAwait(false);
                }
            }

            return await EndAsync(progress, connectorName, SyncStatus.Completed, null, null, runToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!runToken.IsCancellationRequested)
        {
            // The connector's own failure (or its own request timing out): reported on the connector, not thrown.
            LogConnectorFailed(logger, e, progress.SyncId, connectorName);
            await KnowWork(0).ConfigureAwait(false);
            var reason = e is OperationCanceledException ? FailureReason.TimedOut : FailureReason.ConnectorError;
            return await EndAsync(progress, connectorName, SyncStatus.Failed, reason, Describe(connectorName, e), runToken).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyCollection<WorkItem>> ProcessAsync(
        string connectorName, IConnectorSession session, IReadOnlyList<WorkItem> items, DocumentBatchWriter documents, RunProgress progress, CancellationToken cancellationToken)
    {
        var succeeded = new ConcurrentBag<WorkItem>();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Value.ItemParallelism, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(items, parallel, async (item, ct) =>
        {
            await progress.ItemStartedAsync(connectorName, item.Title, ct).ConfigureAwait(false);
            string? failure = null;
            try
            {
                var document = await session.ProcessItemAsync(item, ct).ConfigureAwait(false);
                if (document is not null)
                {
                    await documents.AddAsync(document, ct).ConfigureAwait(false);
                }

                succeeded.Add(item);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // Counted on the item, reported with its reason, not fatal to the connector.
                failure = e is ItemFailedException ? e.Message : $"{e.GetType().Name}: {e.Message}";
                LogItemFailed(logger, progress.SyncId, connectorName, item.Title, failure);
            }

            metrics.ItemProcessed(connectorName, failure is not null);
            await progress.ItemDoneAsync(connectorName, item.Title, failure, ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return succeeded;
    }

    private static async Task<ConnectorResult> EndAsync(
        RunProgress progress, string connector, string status, string? reason, string? message, CancellationToken cancellationToken)
    {
        await progress.ConnectorEndedAsync(connector, status, reason, message, cancellationToken).ConfigureAwait(false);
        return new ConnectorResult(connector, status, reason, message);
    }

    /// <summary>A user-facing message: the connector's own words when it gave some, never a stack trace.</summary>
    private static string Describe(string connector, Exception e) => e switch
    {
        ConnectorException => e.Message,
        OperationCanceledException => $"A request of the {connector} connector timed out.",
        Azure.RequestFailedException r => $"The {connector} connector failed on a storage request ({r.Status}).",
        _ => $"The {connector} connector failed: {e.Message}",
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} connector {Connector}: {Note}")]
    private static partial void LogNote(ILogger logger, string syncId, string connector, string note);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} connector {Connector} timed out after {Seconds}s")]
    private static partial void LogTimedOut(ILogger logger, string syncId, string connector, int seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} connector {Connector} item {Item} failed: {Reason}")]
    private static partial void LogItemFailed(ILogger logger, string syncId, string connector, string item, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sync {SyncId} connector {Connector} failed")]
    private static partial void LogConnectorFailed(ILogger logger, Exception exception, string syncId, string connector);
}
