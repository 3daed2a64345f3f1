using System.Globalization;
using Azure;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Locking;
using SyncFunctions.Progress;
using SyncFunctions.Realtime;
using SyncFunctions.Storage;
using SyncFunctions.Telemetry;

namespace SyncFunctions.Orchestration;

/// <summary>
/// Runs one operation, once, for one delivery of its run message: claims the run lease on the
/// operation row, confirms the tenant lock names it, runs the connectors concurrently under the
/// operation's timeout while heartbeats renew the row, the lock and the message, and ends with one
/// conditional write and a release of the lock that names the sync. Any delivery, duplicate or
/// replayed, is decided by the row (see <see cref="RunClaim"/>), so a sync never runs twice at once.
/// </summary>
public sealed partial class SyncOrchestrator(
    SyncOperationStore operations,
    TableTenantLock tenantLock,
    ConnectorActivity activity,
    AdaptiveTimeout adaptiveTimeout,
    RunningSyncs running,
    IProgressPublisher publisher,
    SyncMetrics metrics,
    WorkerIdentity worker,
    TimeProvider time,
    IOptions<SyncOptions> options,
    ILogger<SyncOrchestrator> logger)
{
    private const int MaxClaimAttempts = 3;

    private SyncOptions Options => options.Value;

    public async Task<RunOutcome> RunAsync(RunInvocation invocation, IRunMessageLease messageLease, CancellationToken stopping)
    {
        var (tenantId, syncId) = invocation.Message;
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["sync_id"] = syncId, ["tenant_id"] = tenantId });

        var (early, operation) = await ClaimAsync(invocation, stopping).ConfigureAwait(false);
        if (operation is null)
        {
            return early!;
        }

        // At-least-once checkpoint: the run lease is ours. If this process dies from here on, the
        // message comes back after its visibility timeout and the next delivery resumes the run once
        // the lease has expired, or the sweep fails it; either way it is never left running.
        var lease = await tenantLock.GetAsync(tenantId, stopping).ConfigureAwait(false);
        if (lease is null || lease.HolderId != syncId)
        {
            await EndLostLockAsync(operation, stopping).ConfigureAwait(false);
            return RunOutcome.Done;
        }

        try
        {
            lease = await tenantLock.RenewAsync(lease, operation.DeadlineAt!.Value, stopping).ConfigureAwait(false);
        }
        catch (LockLostException)
        {
            await EndLostLockAsync(operation, stopping).ConfigureAwait(false);
            return RunOutcome.Done;
        }

        return await ExecuteAsync(operation, lease, messageLease, stopping).ConfigureAwait(false);
    }

    private async Task<(RunOutcome? Early, SyncOperationEntity? Claimed)> ClaimAsync(RunInvocation invocation, CancellationToken cancellationToken)
    {
        var (tenantId, syncId) = invocation.Message;
        for (var attempt = 0; attempt < MaxClaimAttempts; attempt++)
        {
            var operation = await operations.GetAsync(tenantId, syncId, cancellationToken).ConfigureAwait(false);
            if (operation is null)
            {
                LogUnknownOperation(logger, syncId, tenantId);
                return (RunOutcome.Done, null);
            }

            var now = time.GetUtcNow();
            switch (RunClaim.Decide(operation, invocation.MessageId, now, Options.MaxDequeueCount))
            {
                case RunClaimDecision.Drop:
                    return (RunOutcome.Done, null);
                case RunClaimDecision.Defer:
                    var remaining = operation.RunLeaseExpiresAt!.Value - now + TimeSpan.FromSeconds(1);
                    return (RunOutcome.Defer(remaining < Options.RunVisibilityTimeout ? remaining : Options.RunVisibilityTimeout), null);
                case RunClaimDecision.GiveUp:
                    await EndAndReleaseAsync(operation, FailureReason.WorkerLost,
                        string.Create(CultureInfo.InvariantCulture, $"The worker running this sync stopped {operation.RunAttempt} times without finishing; it was not retried again."),
                        cancellationToken).ConfigureAwait(false);
                    return (RunOutcome.Done, null);
            }

            var resumed = operation.Status == SyncStatus.Running;
            operation.Status = SyncStatus.Running;
            operation.StartedAt ??= now;
            operation.RunAttempt++;
            operation.RunOwner = $"{worker.Id}/{operation.RunAttempt}";
            operation.RunMessageId = invocation.MessageId;
            operation.HeartbeatAt = now;
            operation.RunLeaseExpiresAt = now + Options.StaleAfter;
            operation.DeadlineAt = now + TimeSpan.FromSeconds(Options.MaxTimeoutSeconds);
            ResetProgress(operation);
            var started = SyncEventLog.Append(operation, SyncEvent.Started, now);
            try
            {
                await operations.ReplaceAsync(operation, cancellationToken).ConfigureAwait(false);
                if (resumed)
                {
                    LogResumed(logger, syncId, operation.RunAttempt);
                }

                await publisher.PublishAsync(tenantId, syncId, [started], cancellationToken).ConfigureAwait(false);
                return (null, operation);
            }
            catch (RequestFailedException e) when (e.IsPreconditionFailed())
            {
                // Another delivery claimed or ended it first: decide again on the fresh row.
            }
        }

        return (RunOutcome.Done, null);
    }

    /// <summary>A run starts (or restarts after a lost worker) from the connectors' committed state.</summary>
    private static void ResetProgress(SyncOperationEntity operation)
    {
        operation.WriteConnectorProgress(operation.ConnectorNames.Select(c => new ConnectorProgress
        {
            Connector = c,
            Status = SyncStatus.Running,
            Stage = SyncStage.Initializing,
        }));
        operation.ProgressStage = SyncStage.Initializing;
        operation.ProgressPercentage = 0;
        operation.TotalFilesToProcess = 0;
        operation.CurrentFileIndex = 0;
        operation.FilesProcessed = 0;
        operation.FilesFailed = 0;
        operation.CurrentFile = null;
    }

    private async Task<RunOutcome> ExecuteAsync(SyncOperationEntity operation, LockLease lease, IRunMessageLease messageLease, CancellationToken stopping)
    {
        using var span = SyncMetrics.StartRun(operation);
        metrics.RunStarted(operation.RunAttempt);
        var syncId = operation.SyncId;
        var startedAt = time.GetUtcNow();
        using var run = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(Options.MaxTimeoutSeconds), time);
        using var runToken = CancellationTokenSource.CreateLinkedTokenSource(run.Token, deadline.Token);
        var heartbeat = new RunHeartbeat(lease, operation.DeadlineAt!.Value);
        using var progress = new RunProgress(operation, operations, publisher, time, Options.ProgressFlushInterval, () => Stop(run), logger);

        var connectors = operation.ConnectorNames;
        var known = 0;
        var totalItems = 0;
        void WorkKnown(int count)
        {
            Interlocked.Add(ref totalItems, count);
            if (Interlocked.Increment(ref known) != connectors.Count)
            {
                return;
            }

            var seconds = adaptiveTimeout.SecondsFor(Volatile.Read(ref totalItems));
            var deadlineAt = startedAt + TimeSpan.FromSeconds(seconds);
            var left = deadlineAt - time.GetUtcNow();
            deadline.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            heartbeat.ExpiresAt = deadlineAt;
            progress.SetExpectedDuration(seconds, deadlineAt);
            LogStarted(logger, syncId, operation.TenantId, seconds);
        }

        running.Add(syncId, run);
        using var stopHeartbeat = new CancellationTokenSource();
        var beating = BeatAsync(progress, heartbeat, messageLease, () => Stop(run), stopHeartbeat.Token);
        ConnectorResult[]? results = null;
        try
        {
            results = await Task.WhenAll(connectors.Select(c => activity.RunAsync(c, progress, WorkKnown, runToken.Token))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (runToken.IsCancellationRequested)
        {
            // Decided below from which token fired.
        }
        finally
        {
            running.Remove(syncId);
            await stopHeartbeat.CancelAsync().ConfigureAwait(false);
            await beating.ConfigureAwait(false);
        }

        if (progress.IsLost || heartbeat.LockLost)
        {
            if (heartbeat.LockLost)
            {
                await EndLostLockAsync(operation, CancellationToken.None).ConfigureAwait(false);
            }

            await tenantLock.ReleaseAsync(operation.TenantId, syncId, heartbeat.Lease.ETag, CancellationToken.None).ConfigureAwait(false);
            return RunOutcome.Done;
        }

        if (stopping.IsCancellationRequested)
        {
            await AbandonAsync(operation).ConfigureAwait(false);
            return RunOutcome.Abandon;
        }

        if (run.IsCancellationRequested)
        {
            // Cancelled through this process: the canceller has already ended the operation.
            await tenantLock.ReleaseAsync(operation.TenantId, syncId, heartbeat.Lease.ETag, CancellationToken.None).ConfigureAwait(false);
            return RunOutcome.Done;
        }

        var (status, reason, message) = Verdict(results, deadline.IsCancellationRequested, Options.MaxTimeoutSeconds, operation.ExpectedDurationSeconds);
        span?.SetTag("sync.status", status);
        span?.SetTag("sync.failure_reason", reason);
        if (status != SyncStatus.Completed)
        {
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, reason);
        }
        if (await progress.EndAsync(status, reason, message, CancellationToken.None).ConfigureAwait(false))
        {
            if (status == SyncStatus.Completed)
            {
                LogCompleted(logger, syncId);
            }
            else if (reason == FailureReason.TimedOut)
            {
                LogTimedOut(logger, syncId);
            }
            else
            {
                LogFailed(logger, syncId, reason, message);
            }
        }

        // At-least-once checkpoint: the end state is written. A crash before the release leaves a lock
        // whose sync has ended; the next trigger or the sweep removes it.
        await tenantLock.ReleaseAsync(operation.TenantId, syncId, heartbeat.Lease.ETag, CancellationToken.None).ConfigureAwait(false);
        return RunOutcome.Done;
    }

    internal static (string Status, string? Reason, string? Message) Verdict(
        IReadOnlyList<ConnectorResult>? results, bool deadlinePassed, int maxTimeoutSeconds, int expectedSeconds)
    {
        if (deadlinePassed || results is null)
        {
            var seconds = expectedSeconds > 0 ? expectedSeconds : maxTimeoutSeconds;
            return (SyncStatus.Failed, FailureReason.TimedOut, string.Create(CultureInfo.InvariantCulture, $"The sync timed out after {seconds} s."));
        }

        var failures = results.Where(r => r.Status != SyncStatus.Completed).ToList();
        if (failures.Count == 0)
        {
            return (SyncStatus.Completed, null, null);
        }

        var reason = failures.All(f => f.FailureReason == FailureReason.TimedOut) ? FailureReason.TimedOut : failures.First(f => f.FailureReason != FailureReason.TimedOut).FailureReason;
        return (SyncStatus.Failed, reason ?? FailureReason.ConnectorError, string.Join(" ", failures.Select(f => f.ErrorMessage)));
    }

    private async Task BeatAsync(RunProgress progress, RunHeartbeat heartbeat, IRunMessageLease messageLease, Action stop, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Options.HeartbeatInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await progress.HeartbeatAsync(time.GetUtcNow() + Options.StaleAfter, cancellationToken).ConfigureAwait(false);
                    if (progress.IsLost)
                    {
                        return;
                    }

                    heartbeat.Lease = await tenantLock.RenewAsync(heartbeat.Lease, heartbeat.ExpiresAt, cancellationToken).ConfigureAwait(false);
                    await messageLease.ExtendAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (LockLostException)
                {
                    LogLockLost(logger, progress.SyncId);
                    heartbeat.LockLost = true;
                    stop();
                    return;
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
            // The run ended.
        }
    }

    private async Task AbandonAsync(SyncOperationEntity operation)
    {
        // Hand the run back at once: the lease ends now, so the message, shown again, resumes it elsewhere.
        var fresh = await operations.GetAsync(operation.TenantId, operation.SyncId, CancellationToken.None).ConfigureAwait(false);
        if (fresh is null || fresh.IsTerminal || fresh.RunOwner != operation.RunOwner)
        {
            return;
        }

        fresh.RunLeaseExpiresAt = time.GetUtcNow();
        try
        {
            await operations.ReplaceAsync(fresh, CancellationToken.None).ConfigureAwait(false);
            LogAbandoned(logger, operation.SyncId);
        }
        catch (RequestFailedException e) when (e.IsPreconditionFailed())
        {
            // Someone else moved it on; nothing to hand back.
        }
    }

    private async Task EndLostLockAsync(SyncOperationEntity operation, CancellationToken cancellationToken)
    {
        var owner = operation.RunOwner;
        await operations.TryEndAsync(operation.TenantId, operation.SyncId, SyncStatus.Failed, FailureReason.Superseded,
            "The sync lost its tenant lock to another sync.", o => o.RunOwner == owner, cancellationToken).ConfigureAwait(false);
    }

    private async Task EndAndReleaseAsync(SyncOperationEntity operation, string reason, string message, CancellationToken cancellationToken)
    {
        await operations.TryEndAsync(operation.TenantId, operation.SyncId, SyncStatus.Failed, reason, message, null, cancellationToken).ConfigureAwait(false);
        await tenantLock.ReleaseAsync(operation.TenantId, operation.SyncId, null, cancellationToken).ConfigureAwait(false);
    }

    private static void Stop(CancellationTokenSource run)
    {
        try
        {
            run.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run is already over.
        }
    }

    /// <summary>What the heartbeat loop shares with the run: the current lock lease and the expiry to renew it to.</summary>
    private sealed class RunHeartbeat(LockLease lease, DateTimeOffset expiresAt)
    {
        public LockLease Lease { get; set; } = lease;

        public DateTimeOffset ExpiresAt { get; set; } = expiresAt;

        public bool LockLost { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started sync {SyncId} for tenant {TenantId} (timeout: {Seconds}s)")]
    private static partial void LogStarted(ILogger logger, string syncId, string tenantId, int seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} completed successfully")]
    private static partial void LogCompleted(ILogger logger, string syncId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} timed out")]
    private static partial void LogTimedOut(ILogger logger, string syncId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} failed ({FailureReason}): {ErrorMessage}")]
    private static partial void LogFailed(ILogger logger, string syncId, string? failureReason, string? errorMessage);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} resumed by a new worker (attempt {Attempt})")]
    private static partial void LogResumed(ILogger logger, string syncId, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} handed back for another instance to resume")]
    private static partial void LogAbandoned(ILogger logger, string syncId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run message for unknown sync {SyncId} of tenant {TenantId} dropped")]
    private static partial void LogUnknownOperation(ILogger logger, string syncId, string tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} lost its tenant lock; stopping")]
    private static partial void LogLockLost(ILogger logger, string syncId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} heartbeat failed ({Status} {ErrorCode})")]
    private static partial void LogHeartbeatFailed(ILogger logger, string syncId, int status, string? errorCode);
}
