using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using SyncFunctions.Locking;
using SyncFunctions.Sync;
using SyncFunctions.Progress;

namespace SyncFunctions.Sync;

/// <summary>
/// One sync, one instance (instance id = sync id). The tenant's <see cref="TenantLock"/> decides
/// whether it runs; then its connectors run fanned out, each as activities (detect changes, then
/// batches, the last of which commits), the whole sync raced against a durable timer that moves to the adaptive deadline once
/// every connector has said how much work it has; then one end write, the lock released naming the
/// sync, one e-mail.
/// Deterministic: the context's clock, timers and events only; every read and write is an activity.
/// </summary>
public static partial class SyncOrchestration
{
    public const string Name = nameof(SyncOrchestration);

    /// <summary>Raised by the cancel API after it wrote the cancelled state.</summary>
    public const string CancelEvent = "Cancel";

    /// <summary>Storage hiccups in the short bookkeeping activities are retried by the engine, not by hand.</summary>
    private static readonly TaskOptions Bookkeeping = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 5, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30)));

    [Function(Name)]
    public static async Task<SyncOutcome> RunAsync([OrchestrationTrigger] TaskOrchestrationContext context, SyncRequest request)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(request);
        var logger = context.CreateReplaySafeLogger(Name);

        var (decision, replaced) = await DecideAsync(context, request);
        if (!decision.Acquired)
        {
            context.SetCustomStatus(new SyncDecision(SyncDecision.Busy, decision.HolderSyncId));
            return new SyncOutcome(SyncDecision.Busy, null, decision.HolderSyncId);
        }

        SyncOutcome outcome;
        try
        {
            await context.CallActivityAsync(SyncActivities.Begin, new BeginInput(request, replaced), Bookkeeping);
            context.SetCustomStatus(new SyncDecision(SyncDecision.Acquired, request.SyncId, SyncStatus.Running, SyncStage.Initializing));
            outcome = await RunConnectorsAsync(context, request, logger);
        }
        catch (TaskFailedException e)
        {
            // An activity failed for good (storage gone for minutes): the sync ends failed, never stuck.
            outcome = new SyncOutcome(SyncStatus.Failed, FailureReason.ConnectorError);
            await context.CallActivityAsync(SyncActivities.End,
                new EndInput(request.TenantId, request.SyncId, SyncStatus.Failed, FailureReason.ConnectorError, $"The sync engine failed: {e.FailureDetails.ErrorMessage}"),
                Bookkeeping);
        }

        // SyncEnd released the lock and sent the e-mail.
        context.SetCustomStatus(new SyncDecision(SyncDecision.Acquired, request.SyncId, outcome.Status));
        return outcome;
    }

    /// <summary>Acquire; when held, judge the holder and take over a stuck or ended one (only from the holder judged).</summary>
    private static async Task<(LockDecision Decision, string? Replaced)> DecideAsync(TaskOrchestrationContext context, SyncRequest request)
    {
        var lockId = TenantLock.For(request.TenantId);
        // A holder the trigger saw ended is named, so the common "trigger right after the last sync ended, before
        // its release was processed" takes the lock in this one call instead of an inspection and a take-over (four hops).
        var decision = await context.Entities.CallEntityAsync<LockDecision>(lockId, nameof(TenantLock.Acquire),
            new LockRequest(request.SyncId, context.CurrentUtcDateTime, request.EndedHolderSyncId));
        if (decision.Acquired)
        {
            return (decision, null);
        }

        var verdict = await context.CallActivityAsync<HolderVerdict>(SyncActivities.InspectHolder,
            new HolderQuery(request.TenantId, decision.HolderSyncId, decision.HeldSince, request.Timings), Bookkeeping);
        if (verdict.Kind == HolderVerdict.Live)
        {
            return (decision, null);
        }

        string? replaced = null;
        if (verdict.Kind == HolderVerdict.Stuck)
        {
            await context.CallActivityAsync(SyncActivities.ReplaceStuckHolder,
                new StuckHolder(request.TenantId, decision.HolderSyncId, request.SyncId, verdict.Reason!), Bookkeeping);
            replaced = decision.HolderSyncId;
        }

        decision = await context.Entities.CallEntityAsync<LockDecision>(lockId, nameof(TenantLock.TakeOver),
            new LockTakeover(decision.HolderSyncId, request.SyncId, context.CurrentUtcDateTime));
        return (decision, decision.Acquired ? replaced : null);
    }

    private static async Task<SyncOutcome> RunConnectorsAsync(TaskOrchestrationContext context, SyncRequest request, ILogger logger)
    {
        var start = context.CurrentUtcDateTime;
        var timings = request.Timings;
        var counts = request.Connectors.Select(_ => new TaskCompletionSource<int>()).ToList();
        var work = Task.WhenAll(request.Connectors.Select((c, i) => RunConnectorAsync(context, new ConnectorStep(request.TenantId, request.SyncId, c, timings), counts[i])));
        var allKnown = Task.WhenAll(counts.Select(c => c.Task));
        var cancelled = context.WaitForExternalEvent<string>(CancelEvent);

        // Every step of every connector is raced against this one durable timer: until every connector
        // knows its work, the longest allowed; then the adaptive timeout of the total. (A timer per step
        // would cost a delayed queue message and a replay each, even when cancelled.)
        var timeoutSeconds = timings.MaxSeconds;
        var timerCancel = new CancellationTokenSource();
        var deadline = context.CreateTimer(start.AddSeconds(timeoutSeconds), timerCancel.Token);
        try
        {
            while (true)
            {
                var winner = await Task.WhenAny(allKnown.IsCompleted ? [work, deadline, cancelled] : [work, deadline, cancelled, allKnown]);
                if (winner != allKnown)
                {
                    break;
                }

                timeoutSeconds = timings.TimeoutFor((await allKnown).Sum());
                timerCancel.Cancel(); // synchronously: CancelAsync would resume off the orchestration's thread
                timerCancel.Dispose();
                timerCancel = new CancellationTokenSource();
                deadline = context.CreateTimer(start.AddSeconds(timeoutSeconds), timerCancel.Token);
                LogStarted(logger, request.SyncId, request.TenantId, timeoutSeconds);
                context.SetCustomStatus(new SyncDecision(SyncDecision.Acquired, request.SyncId, SyncStatus.Running, SyncStage.ProcessingFiles));
            }

            if (cancelled.IsCompleted)
            {
                // The canceller wrote the end state (this end write keeps it) and the connectors' activities
                // stop at their next write; the end activity still clears what they left.
                await context.CallActivityAsync(SyncActivities.End,
                    new EndInput(request.TenantId, request.SyncId, SyncStatus.Cancelled, FailureReason.CancelledByUser, null), Bookkeeping);
                return new SyncOutcome(SyncStatus.Cancelled, FailureReason.CancelledByUser);
            }

            var (status, reason, message) = work.IsCompletedSuccessfully ? SyncVerdict.Of(await work)
                : work.IsFaulted ? (SyncStatus.Failed, FailureReason.ConnectorError, $"A connector's activity failed: {work.Exception?.InnerException?.Message}")
                : SyncVerdict.TimedOut(timeoutSeconds);
            await context.CallActivityAsync(SyncActivities.End, new EndInput(request.TenantId, request.SyncId, status, reason, message), Bookkeeping);
            return new SyncOutcome(status, reason);
        }
        finally
        {
            timerCancel.Cancel();
            timerCancel.Dispose();
        }
    }

    /// <summary>
    /// One connector: detect its changes, then batches until every item was attempted; the last batch
    /// commits. Its item count is told (<paramref name="count"/>) as soon as detection returns, or as 0
    /// when detection fails.
    /// </summary>
    private static async Task<ConnectorResult> RunConnectorAsync(TaskOrchestrationContext context, ConnectorStep step, TaskCompletionSource<int> count)
    {
        DetectedWork detected;
        try
        {
            detected = await context.CallActivityAsync<DetectedWork>(SyncActivities.DetectChanges, step);
        }
        catch (TaskFailedException)
        {
            count.TrySetResult(0);
            throw;
        }

        count.TrySetResult(detected.Items);
        if (detected.Ended is { } ended)
        {
            return ended;
        }

        // The connector's own timeout runs from when its work was known, as it did inside one activity.
        var connectorDeadline = context.CurrentUtcDateTime.AddSeconds(detected.TimeoutSeconds);
        var (next, processed) = (0, 0);
        var failedKeys = new List<string>();
        while (true)
        {
            var batch = await context.CallActivityAsync<BatchResult>(SyncActivities.ProcessBatch,
                new BatchInput(step, next, detected.Items, processed, failedKeys, connectorDeadline, detected.TimeoutSeconds));
            if (batch.Ended is { } connectorEnded)
            {
                return connectorEnded; // committed by the batch that reached the last item, or failed
            }

            (next, processed) = (batch.Next, processed + batch.Processed);
            failedKeys.AddRange(batch.FailedKeys);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started sync {SyncId} for tenant {TenantId} (timeout: {Seconds}s)")]
    private static partial void LogStarted(ILogger logger, string syncId, string tenantId, int seconds);
}
