using System.Globalization;
using Azure;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Locking;
using SyncFunctions.Notifications;
using SyncFunctions.Sync;
using SyncFunctions.Progress;
using SyncFunctions.Realtime;
using SyncFunctions.Telemetry;

namespace SyncFunctions.Sync;

/// <summary>
/// Every read and write of <see cref="SyncOrchestration"/>. Activities run at least once (a crash or a
/// lost message redelivers them), so each write below is conditional or idempotent; each such point
/// says so where it happens.
/// </summary>
public sealed partial class SyncActivities(
    SyncOperationStore operations,
    ConnectorActivity connectors,
    WorkListStore workLists,
    IProgressPublisher publisher,
    SyncNotifier notifier,
    SyncMetrics metrics,
    TimeProvider time,
    IOptions<SyncOptions> options,
    ILogger<SyncActivities> logger)
{
    public const string Begin = "SyncBegin";
    public const string InspectHolder = "SyncInspectHolder";
    public const string ReplaceStuckHolder = "SyncReplaceStuckHolder";
    public const string DetectChanges = "SyncDetectChanges";
    public const string ProcessBatch = "SyncProcessBatch";
    public const string End = "SyncEnd";

    /// <summary>The operation row, running, with its started event: what the trigger's 202 and every reader see first.</summary>
    [Function(Begin)]
    public async Task BeginAsync([ActivityTrigger] BeginInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var request = input.Request;
        using var scope = Scope(request.TenantId, request.SyncId);
        var now = time.GetUtcNow();
        var operation = request.NewOperation(SyncStatus.Running);
        operation.StartedAt = now;
        operation.HeartbeatAt = now;
        operation.ExpectedDurationSeconds = request.Timings.TimeoutFor(0);
        operation.DeadlineAt = now + TimeSpan.FromSeconds(request.Timings.MaxSeconds);
        operation.ReplacedSyncId = input.ReplacedSyncId;
        var started = SyncEventLog.Append(operation, SyncEvent.Started, now);
        try
        {
            await operations.InsertAsync(operation, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return; // At-least-once: a redelivery finds the row its first delivery wrote.
        }

        metrics.RunStarted(1);
        LogBegun(logger, request.SyncId, request.TenantId, operation.Connectors);
        await publisher.PublishAsync(request.TenantId, request.SyncId, [started], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Judges the sync that holds the tenant: alive, ended (its lock outlived it), or stuck.</summary>
    [Function(InspectHolder)]
    public async Task<HolderVerdict> InspectHolderAsync([ActivityTrigger] HolderQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var now = time.GetUtcNow();
        var holder = await operations.GetAsync(query.TenantId, query.HolderSyncId, cancellationToken).ConfigureAwait(false);
        return Judge(holder, query.HeldSince, now, query.Timings);
    }

    /// <summary>The holder rules, shared with the trigger's early answer and the sweep.</summary>
    public static HolderVerdict Judge(SyncOperationEntity? holder, DateTimeOffset heldSince, DateTimeOffset now, SyncTimings timings)
    {
        ArgumentNullException.ThrowIfNull(timings);
        var staleAfter = TimeSpan.FromSeconds(timings.StaleAfterSeconds);
        if (holder is null)
        {
            // It has the lock but has not written its operation yet; after the queue timeout it never will.
            return now - heldSince < TimeSpan.FromSeconds(timings.QueueTimeoutSeconds)
                ? new HolderVerdict(HolderVerdict.Live)
                : new HolderVerdict(HolderVerdict.Stuck, string.Create(CultureInfo.InvariantCulture,
                    $"It held the tenant for {(int)(now - heldSince).TotalSeconds} s without starting"));
        }

        if (holder.IsTerminal)
        {
            return new HolderVerdict(HolderVerdict.Ended);
        }

        if (holder.DeadlineAt is { } deadline && deadline <= now)
        {
            return new HolderVerdict(HolderVerdict.Stuck, string.Create(CultureInfo.InvariantCulture, $"It passed its deadline ({holder.ExpectedDurationSeconds} s)"));
        }

        var beat = holder.HeartbeatAt ?? holder.StartedAt ?? holder.CreatedAt;
        return now - beat > staleAfter
            ? new HolderVerdict(HolderVerdict.Stuck, string.Create(CultureInfo.InvariantCulture,
                $"No heartbeat for {(int)(now - beat).TotalSeconds} s (limit {(int)staleAfter.TotalSeconds} s)"))
            : new HolderVerdict(HolderVerdict.Live);
    }

    /// <summary>
    /// Fails the stuck holder (<c>stuck</c>) and terminates its instance, before the new sync takes the
    /// lock over. At-least-once: the end write is conditional (a holder that ended meanwhile keeps its
    /// end) and terminating an ended instance changes nothing.
    /// </summary>
    [Function(ReplaceStuckHolder)]
    public async Task ReplaceStuckHolderAsync([ActivityTrigger] StuckHolder stuck, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stuck);
        ArgumentNullException.ThrowIfNull(client);
        var message = $"{stuck.Reason}; sync {stuck.ReplacedBy} took over the tenant.";
        var ended = await operations.TryEndAsync(stuck.TenantId, stuck.HolderSyncId, SyncStatus.Failed, FailureReason.Stuck, message, null, cancellationToken).ConfigureAwait(false);
        await SyncInstances.TerminateAsync(client, stuck.HolderSyncId, message, cancellationToken).ConfigureAwait(false);
        await workLists.DeleteAllAsync(stuck.TenantId, stuck.HolderSyncId, cancellationToken).ConfigureAwait(false);
        if (ended is not null)
        {
            LogReplaced(logger, stuck.HolderSyncId, stuck.TenantId, stuck.ReplacedBy, stuck.Reason);
            await notifier.NotifyAsync(ended, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A connector's changes: connect, detect, keep the work list, tell the orchestration the count.
    /// At-least-once: a redelivery counts from zero again and keeps the first delivery's work list.
    /// </summary>
    [Function(DetectChanges)]
    public Task<DetectedWork> DetectChangesAsync([ActivityTrigger] ConnectorStep step, CancellationToken cancellationToken) =>
        RunStepAsync(step, (progress, ct) => progress.ResetAsync(ct), (progress, ct) => connectors.DetectAsync(step, progress, ct),
            ended => new DetectedWork(0, 0, ended), cancellationToken);

    /// <summary>One batch of a connector's items; the last one commits (see <see cref="ConnectorActivity.ProcessBatchAsync"/>).</summary>
    [Function(ProcessBatch)]
    public Task<BatchResult> ProcessBatchAsync([ActivityTrigger] BatchInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        return RunStepAsync(input.Step, (_, _) => Task.CompletedTask, (progress, ct) => connectors.ProcessBatchAsync(input, progress, ct),
            ended => new BatchResult(0, 0, [], ended), cancellationToken);
    }

    /// <summary>
    /// A connector's step with its progress and heartbeats on the operation row. It stops by itself when
    /// the operation ends under it (the orchestration's deadline, a cancel, the sweep), and does not
    /// start when the operation has already ended.
    /// </summary>
    private async Task<T> RunStepAsync<T>(
        ConnectorStep step, Func<RunProgress, CancellationToken, Task> prepare, Func<RunProgress, CancellationToken, Task<T>> body,
        Func<ConnectorResult, T> ended, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(step);
        var operation = await operations.GetAsync(step.TenantId, step.SyncId, cancellationToken).ConfigureAwait(false);
        if (operation is null || operation.IsTerminal)
        {
            return ended(new ConnectorResult(step.Connector, SyncStatus.Cancelled, null, "The sync ended before this connector ran."));
        }

        using var scope = Scope(step.TenantId, step.SyncId);
        using var running = metrics.ConnectorRunning();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var progress = new RunProgress(operation, [step.Connector], step.Timings.TimeoutFor, operations, publisher, time,
            options.Value.ProgressFlushInterval, () => Stop(stop), logger);
        using var stopBeating = new CancellationTokenSource();
        var beating = BeatAsync(progress, stopBeating.Token);
        try
        {
            await prepare(progress, stop.Token).ConfigureAwait(false);
            return await body(progress, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (progress.IsLost && !cancellationToken.IsCancellationRequested)
        {
            return ended(new ConnectorResult(step.Connector, SyncStatus.Cancelled, null, "The sync ended while this connector ran."));
        }
        finally
        {
            await stopBeating.CancelAsync().ConfigureAwait(false);
            await beating.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The sync's end: what its connectors left of their work lists, the one end write (completed, or
    /// failed with its reason, and its <c>complete</c> or <c>error</c> event), the tenant's lock released,
    /// then the summary e-mail. One activity, not three: each activity costs the backend a dozen storage
    /// requests, and the release still comes before the e-mail, so the next sync need not wait for SMTP.
    /// At-least-once: the end write is conditional (an operation already ended by a cancel, the sweep or
    /// this activity's first delivery keeps its end, and nothing is logged twice), the release names the
    /// sync (a repeated or late one changes nothing), and the claim row keeps the e-mail to one.
    /// </summary>
    [Function(End)]
    public async Task EndAsync([ActivityTrigger] EndInput input, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(client);
        using var scope = Scope(input.TenantId, input.SyncId);
        if (input.Status != SyncStatus.Completed)
        {
            // A completed sync's connectors removed their lists as they committed; others may have left some.
            await workLists.DeleteAllAsync(input.TenantId, input.SyncId, cancellationToken).ConfigureAwait(false);
        }

        var ended = await operations.TryEndAsync(input.TenantId, input.SyncId, input.Status, input.FailureReason, input.ErrorMessage, null, cancellationToken).ConfigureAwait(false);
        if (ended is not null)
        {
            LogEnd(input);
        }

        await client.Entities.SignalEntityAsync(TenantLock.For(input.TenantId), nameof(TenantLock.Release), input.SyncId, cancellation: cancellationToken).ConfigureAwait(false);
        if ((ended ?? await operations.GetAsync(input.TenantId, input.SyncId, cancellationToken).ConfigureAwait(false)) is { IsTerminal: true } final)
        {
            await notifier.NotifyAsync(final, cancellationToken).ConfigureAwait(false);
        }
    }

    private void LogEnd(EndInput input)
    {
        if (input.Status == SyncStatus.Completed)
        {
            LogCompleted(logger, input.SyncId);
        }
        else if (input.FailureReason == FailureReason.TimedOut)
        {
            LogTimedOut(logger, input.SyncId);
        }
        else
        {
            LogFailed(logger, input.SyncId, input.FailureReason, input.ErrorMessage);
        }
    }

    /// <summary>Every log line of a sync's activities carries its ids, whatever the host's own scopes.</summary>
    private IDisposable? Scope(string tenantId, string syncId) =>
        logger.BeginScope(new Dictionary<string, object> { ["sync_id"] = syncId, ["tenant_id"] = tenantId });

    private async Task BeatAsync(RunProgress progress, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false) && !progress.IsLost)
            {
                try
                {
                    await progress.HeartbeatAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (RequestFailedException e)
                {
                    // One missed beat is survivable; three in a row make the run stale and the sweep ends it.
                    LogHeartbeatFailed(logger, progress.SyncId, e.Status, e.ErrorCode);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The connector finished.
        }
    }

    private static void Stop(CancellationTokenSource stop)
    {
        try
        {
            stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The activity is already over.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} of tenant {TenantId} began ({Connectors})")]
    private static partial void LogBegun(ILogger logger, string syncId, string tenantId, string connectors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} of tenant {TenantId} failed as stuck and replaced by {ReplacedBy}: {Reason}")]
    private static partial void LogReplaced(ILogger logger, string syncId, string tenantId, string replacedBy, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} completed successfully")]
    private static partial void LogCompleted(ILogger logger, string syncId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} timed out")]
    private static partial void LogTimedOut(ILogger logger, string syncId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} failed ({FailureReason}): {ErrorMessage}")]
    private static partial void LogFailed(ILogger logger, string syncId, string? failureReason, string? errorMessage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} heartbeat failed ({Status} {ErrorCode})")]
    private static partial void LogHeartbeatFailed(ILogger logger, string syncId, int status, string? errorCode);
}
