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
/// A connector's steps in a sync, each run by its own activity on a fresh session: detect changes
/// (connect timeout; the count sets the adaptive timeout), batches of items with bounded parallelism (a
/// failing item is counted, not fatal; documents to the sink), and the commit once every item was
/// attempted. A step never throws for the connector's own failures; it reports them as the connector's
/// end. Cancellation from outside (the sync ended, shutdown) propagates.
/// </summary>
public sealed partial class ConnectorActivity(
    ConnectionStore connections,
    ConnectorRegistry registry,
    WorkListStore workLists,
    DocumentSink sink,
    SyncMetrics metrics,
    TimeProvider time,
    IOptions<SyncOptions> options,
    ILogger<ConnectorActivity> logger)
{
    public async Task<DetectedWork> DetectAsync(ConnectorStep step, RunProgress progress, CancellationToken runToken)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(progress);
        using var span = SyncMetrics.StartConnector(step.SyncId, step.TenantId, step.Connector, SyncMetrics.DetectStep, progress.TraceParent);
        var detected = await GuardAsync(step, progress, async () =>
        {
            var (session, ended) = await ConnectAsync(step, runToken).ConfigureAwait(false);
            if (session is null)
            {
                return new DetectedWork(0, 0, await EndAsync(progress, ended!, runToken).ConfigureAwait(false));
            }

            await using (session.ConfigureAwait(false))
            {
                await progress.StageAsync(step.Connector, SyncStage.DetectingChanges, runToken).ConfigureAwait(false);
                var changes = await session.DetectChangesAsync(runToken).ConfigureAwait(false);
                if (changes.Items.Count > 0)
                {
                    changes = await workLists.KeepFirstAsync(step.TenantId, step.SyncId, step.Connector, changes, runToken).ConfigureAwait(false);
                }

                foreach (var note in changes.Notes)
                {
                    LogNote(logger, step.SyncId, step.Connector, note);
                }

                var timeoutSeconds = progress.TimeoutFor(changes.Items.Count);
                await progress.TotalKnownAsync(step.Connector, changes.Items.Count, timeoutSeconds, changes.Notes, runToken).ConfigureAwait(false);
                if (changes.Items.Count > 0)
                {
                    return new DetectedWork(changes.Items.Count, timeoutSeconds, null);
                }

                // Nothing to process: the commit (a cursor may still move) is this step's last part.
                await progress.StageAsync(step.Connector, SyncStage.UpdatingEmbeddings, runToken).ConfigureAwait(false);
                await CommitChangesAsync(step, session, changes, [], progress, runToken).ConfigureAwait(false);
                return new DetectedWork(0, timeoutSeconds, await EndAsync(progress, Completed(step), runToken).ConfigureAwait(false));
            }
        }, ended => new DetectedWork(0, 0, ended), runToken).ConfigureAwait(false);
        Tag(span, detected.Ended);
        return detected;
    }

    /// <summary>
    /// Items from <see cref="BatchInput.From"/> on, taken for <c>SYNC_BATCH_SECONDS</c> (at least one),
    /// until the connector's deadline at the latest; the batch that reaches the last item commits.
    /// At-least-once: a redelivered batch starts at the same item again from the counts before it, and its
    /// documents carry this delivery's attempt number. The checkpoint and item-state writes of the commit
    /// are upserts and deletes of the same rows, so repeating them is harmless; a redelivery that finds
    /// the work list gone (the commit removes it) while the sync still runs knows the commit happened.
    /// </summary>
    public async Task<BatchResult> ProcessBatchAsync(BatchInput input, RunProgress progress, CancellationToken runToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(progress);
        var step = input.Step;
        using var span = SyncMetrics.StartConnector(step.SyncId, step.TenantId, step.Connector, SyncMetrics.BatchStep, progress.TraceParent);
        var remaining = input.Deadline - time.GetUtcNow();
        using var connectorTimeout = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, time);
        var result = await GuardAsync(step, progress, async () =>
        {
            try
            {
                var changes = await workLists.GetAsync(step.TenantId, step.SyncId, step.Connector, runToken).ConfigureAwait(false);
                if (changes is null)
                {
                    return Ended(Completed(step));
                }

                var (session, ended) = await ConnectAsync(step, runToken).ConfigureAwait(false);
                if (session is null)
                {
                    return Ended(await EndAsync(progress, ended!, runToken).ConfigureAwait(false));
                }

                await using (session.ConfigureAwait(false))
                {
                    await progress.ResumeAsync(step.Connector, input.ProcessedBefore, input.FailedKeysBefore.Count, runToken).ConfigureAwait(false);
                    using var working = CancellationTokenSource.CreateLinkedTokenSource(runToken, connectorTimeout.Token);
                    using var documents = sink.OpenWriter(step.TenantId, step.Connector, step.SyncId, progress.Attempt);
                    var batch = await ProcessAsync(step.Connector, session, BatchOf(changes.Items, input.From), documents, progress, working.Token).ConfigureAwait(false);
                    var next = input.From + batch.Taken;
                    var last = next >= changes.Items.Count;
                    if (last)
                    {
                        await progress.StageAsync(step.Connector, SyncStage.UpdatingEmbeddings, working.Token).ConfigureAwait(false);
                    }

                    await documents.FlushAsync(working.Token).ConfigureAwait(false);
                    if (!last)
                    {
                        return new BatchResult(next, batch.Taken - batch.FailedKeys.Count, batch.FailedKeys, null);
                    }

                    var failed = input.FailedKeysBefore.Concat(batch.FailedKeys).ToHashSet(StringComparer.Ordinal);
                    await CommitChangesAsync(step, session, changes, [.. changes.Items.Where(i => !failed.Contains(i.Key))], progress, working.Token).ConfigureAwait(false);
                    await workLists.DeleteAsync(step.TenantId, step.SyncId, step.Connector, runToken).ConfigureAwait(false);
                    return Ended(await EndAsync(progress, Completed(step), runToken).ConfigureAwait(false));
                }
            }
            catch (OperationCanceledException) when (connectorTimeout.IsCancellationRequested && !runToken.IsCancellationRequested)
            {
                LogTimedOut(logger, step.SyncId, step.Connector, input.TimeoutSeconds);
                return Ended(await EndAsync(progress, new ConnectorResult(step.Connector, SyncStatus.Failed, FailureReason.TimedOut,
                    string.Create(CultureInfo.InvariantCulture, $"The {step.Connector} connector timed out after {input.TimeoutSeconds} s (adaptive timeout for {input.TotalItems} items).")), runToken).ConfigureAwait(false));
            }
        }, Ended, runToken).ConfigureAwait(false);
        Tag(span, result.Ended);
        return result;

        static BatchResult Ended(ConnectorResult ended) => new(0, 0, [], ended);
    }

    /// <summary>Runs a step; the connector's own failures (or its own request timing out) end the connector, they are not thrown.</summary>
    private async Task<T> GuardAsync<T>(ConnectorStep step, RunProgress progress, Func<Task<T>> body, Func<ConnectorResult, T> ended, CancellationToken runToken)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (!runToken.IsCancellationRequested)
        {
            LogConnectorFailed(logger, e, step.SyncId, step.Connector);
            var reason = e is OperationCanceledException ? FailureReason.TimedOut : FailureReason.ConnectorError;
            return ended(await EndAsync(progress, new ConnectorResult(step.Connector, SyncStatus.Failed, reason, Describe(step.Connector, e)), runToken).ConfigureAwait(false));
        }
    }

    /// <summary>A fresh session of the connector, or how the connector ends when it cannot have one (not configured, connect timed out).</summary>
    private async Task<(IConnectorSession? Session, ConnectorResult? Ended)> ConnectAsync(ConnectorStep step, CancellationToken runToken)
    {
        var connection = await connections.GetAsync(step.TenantId, step.Connector, runToken).ConfigureAwait(false);
        if (connection is null || !registry.TryGet(step.Connector, out var connector))
        {
            return (null, new ConnectorResult(step.Connector, SyncStatus.Failed, FailureReason.ConnectionMissing,
                $"The {step.Connector} connection is not configured for this tenant."));
        }

        using var connectTimeout = new CancellationTokenSource(options.Value.ConnectTimeout, time);
        using var connecting = CancellationTokenSource.CreateLinkedTokenSource(runToken, connectTimeout.Token);
        try
        {
            return (await connector.ConnectAsync(new ConnectorContext(step.TenantId, step.SyncId, connection.Settings), connecting.Token).ConfigureAwait(false), null);
        }
        catch (OperationCanceledException) when (connectTimeout.IsCancellationRequested && !runToken.IsCancellationRequested)
        {
            return (null, new ConnectorResult(step.Connector, SyncStatus.Failed, FailureReason.TimedOut,
                string.Create(CultureInfo.InvariantCulture, $"Connecting to {step.Connector} timed out after {options.Value.ConnectTimeoutSeconds} s.")));
        }
    }

    private static async Task CommitChangesAsync(
        ConnectorStep step, IConnectorSession session, ChangeSet changes, IReadOnlyCollection<WorkItem> succeeded, RunProgress progress, CancellationToken cancellationToken)
    {
        await progress.StageAsync(step.Connector, SyncStage.Finalizing, cancellationToken).ConfigureAwait(false);

        // At-least-once checkpoint: committed only after every item was attempted and every document
        // written. A crash before this line re-detects the same changes next time.
        await session.CommitAsync(changes, succeeded, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The items of one batch, taken lazily: the batch stops taking new ones once its time is up (it always takes one).</summary>
    private IEnumerable<WorkItem> BatchOf(IReadOnlyList<WorkItem> items, int from)
    {
        var ends = time.GetUtcNow() + options.Value.BatchDuration;
        for (var i = from; i < items.Count; i++)
        {
            if (i > from && time.GetUtcNow() >= ends)
            {
                yield break;
            }

            yield return items[i];
        }
    }

    private static ConnectorResult Completed(ConnectorStep step) => new(step.Connector, SyncStatus.Completed, null, null);

    private static void Tag(System.Diagnostics.Activity? span, ConnectorResult? ended)
    {
        if (ended is null)
        {
            return;
        }

        span?.SetTag("connector.status", ended.Status);
        if (ended.Status != SyncStatus.Completed)
        {
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ended.FailureReason);
        }
    }

    private sealed record BatchDone(int Taken, IReadOnlyList<string> FailedKeys);

    private async Task<BatchDone> ProcessAsync(
        string connectorName, IConnectorSession session, IEnumerable<WorkItem> items, DocumentBatchWriter documents, RunProgress progress, CancellationToken cancellationToken)
    {
        var taken = 0;
        var failedKeys = new ConcurrentBag<string>();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Value.ItemParallelism, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(items, parallel, async (item, ct) =>
        {
            Interlocked.Increment(ref taken);
            await progress.ItemStartedAsync(connectorName, item.Title, ct).ConfigureAwait(false);
            string? failure = null;
            try
            {
                var document = await session.ProcessItemAsync(item, ct).ConfigureAwait(false);
                if (document is not null)
                {
                    await documents.AddAsync(document, ct).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // Counted on the item, reported with its reason, not fatal to the connector.
                failure = e is ItemFailedException ? e.Message : $"{e.GetType().Name}: {e.Message}";
                failedKeys.Add(item.Key);
                LogItemFailed(logger, progress.SyncId, connectorName, item.Title, failure);
            }

            metrics.ItemProcessed(connectorName, failure is not null);
            await progress.ItemDoneAsync(connectorName, item.Title, failure, ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return new BatchDone(taken, [.. failedKeys]);
    }

    private static async Task<ConnectorResult> EndAsync(RunProgress progress, ConnectorResult ended, CancellationToken cancellationToken)
    {
        await progress.ConnectorEndedAsync(ended.Connector, ended.Status, ended.FailureReason, ended.ErrorMessage, cancellationToken).ConfigureAwait(false);
        return ended;
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
