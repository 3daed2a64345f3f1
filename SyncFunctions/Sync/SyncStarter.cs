using Azure;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Connectors;
using SyncFunctions.Locking;
using SyncFunctions.Progress;
using SyncFunctions.Telemetry;

namespace SyncFunctions.Sync;

public abstract record TriggerResult
{
    private TriggerResult()
    {
    }

    public sealed record Accepted(SyncOperationEntity Operation) : TriggerResult;

    /// <summary>
    /// Another sync holds the tenant. <see cref="Running"/> is its operation, or null when the holder has
    /// taken the lock but not yet written its operation (then only its id and when it took the lock are known).
    /// </summary>
    public sealed record Conflict(SyncOperationEntity? Running, string HolderSyncId, DateTimeOffset HeldSince) : TriggerResult;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : TriggerResult;

    public sealed record Unavailable(string Message, string? SyncId = null) : TriggerResult;
}

/// <summary>
/// Starts a sync (DESIGN, "A sync as an orchestration", step 1): a live holder of the tenant's lock
/// answers at once; otherwise a new <see cref="SyncOrchestration"/> is scheduled and its decision,
/// taken by the lock, awaited (bounded). The lock decides, so any number of racing triggers on any
/// number of instances give one acceptance. Durable Functions' own singleton recipe (look up the
/// instance id, then start it) races: azure-functions-durable-extension #367, #612, #1265.
/// </summary>
public sealed partial class SyncStarter(
    ConnectionStore connections,
    ConnectorRegistry registry,
    SyncOperationStore operations,
    SyncMetrics metrics,
    TimeProvider time,
    IOptions<SyncOptions> options,
    ILogger<SyncStarter> logger)
{
    /// <summary>How long a trigger waits for the lock's decision by default; it takes well under a second when the engine is healthy.</summary>
    public static readonly TimeSpan DefaultDecisionTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Tests shorten it to see a slow engine's answer without waiting half a minute.</summary>
    internal TimeSpan DecisionTimeout { get; set; } = DefaultDecisionTimeout;

    public async Task<TriggerResult> StartAsync(DurableTaskClient client, string tenantId, IReadOnlyList<string>? connectors, string? triggeredBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var configured = (await connections.ListAsync(tenantId, cancellationToken).ConfigureAwait(false)).Select(c => c.Connector).ToHashSet(StringComparer.Ordinal);
        var errors = new Dictionary<string, string[]>();
        var requested = connectors is { Count: > 0 } ? connectors.Distinct(StringComparer.Ordinal).ToList() : configured.Order(StringComparer.Ordinal).ToList();
        foreach (var name in requested)
        {
            if (!registry.TryGet(name, out _))
            {
                errors[$"connectors.{name}"] = [$"Unknown connector. Known: {string.Join(", ", registry.Names.Order(StringComparer.Ordinal))}."];
            }
            else if (!configured.Contains(name))
            {
                errors[$"connectors.{name}"] = ["This connector is not configured for the tenant: PUT /api/v1/connections/{connector} first."];
            }
        }

        if (requested.Count == 0)
        {
            errors["connectors"] = ["The tenant has no configured connections: PUT /api/v1/connections/{connector} first."];
        }

        if (errors.Count > 0)
        {
            return new TriggerResult.Invalid(errors);
        }

        var timings = SyncTimings.From(options.Value);
        var now = time.GetUtcNow();

        // A live holder answers at once, without an orchestration; a stuck or ended one is the new sync's to replace.
        var held = await client.Entities.GetEntityAsync<TenantLockState>(TenantLock.For(tenantId), cancellation: cancellationToken).ConfigureAwait(false);
        string? endedHolder = null;
        if (held?.State is { } state)
        {
            var holder = await operations.GetAsync(tenantId, state.HolderSyncId, cancellationToken).ConfigureAwait(false);
            var verdict = SyncActivities.Judge(holder, state.HeldSince, now, timings).Kind;
            if (verdict == HolderVerdict.Live)
            {
                metrics.LockConflict();
                return new TriggerResult.Conflict(holder, state.HolderSyncId, state.HeldSince);
            }

            // Ended is final, so the lock may take it over on sight; a stuck holder is still judged (and failed) by the orchestration.
            endedHolder = verdict == HolderVerdict.Ended ? state.HolderSyncId : null;
        }

        var syncId = Progress.SyncId.New(now);
        var request = new SyncRequest(tenantId, syncId, requested, triggeredBy, System.Diagnostics.Activity.Current?.Id, timings, endedHolder);
        await client.ScheduleNewOrchestrationInstanceAsync(SyncOrchestration.Name, request, new StartOrchestrationOptions(syncId), cancellationToken).ConfigureAwait(false);
        LogScheduled(logger, syncId, tenantId, requested.Count);

        var decision = await WaitForDecisionAsync(client, syncId, cancellationToken).ConfigureAwait(false);
        if (decision is null)
        {
            LogUndecided(logger, syncId, tenantId, (int)DecisionTimeout.TotalSeconds);
            return await WithdrawAsync(client, request, cancellationToken).ConfigureAwait(false);
        }

        if (decision.IsAcquired)
        {
            var operation = await operations.GetAsync(tenantId, syncId, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Sync {syncId} took the lock but its operation is missing.");
            return new TriggerResult.Accepted(operation);
        }

        metrics.LockConflict();
        var holderId = decision.HolderSyncId!;
        var running = await operations.GetAsync(tenantId, holderId, cancellationToken).ConfigureAwait(false);
        return new TriggerResult.Conflict(running, holderId, running?.CreatedAt ?? now);
    }

    /// <summary>
    /// The engine did not decide in time: the caller gets 503, so the sync must not start later behind its
    /// back. Its operation is written ended (<c>enqueue_failed</c>) before <c>SyncBegin</c> can write it
    /// running: the orchestration's steps then find it ended and do nothing, and its instance is
    /// terminated; a lock it may have taken meanwhile belongs to an ended sync, which the next trigger
    /// takes over on sight. When <c>SyncBegin</c> won that race, the sync runs: the answer is 202 after all.
    /// </summary>
    private async Task<TriggerResult> WithdrawAsync(DurableTaskClient client, SyncRequest request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var message = $"The sync engine did not decide within {(int)DecisionTimeout.TotalSeconds} s; the trigger was answered 503 and this sync withdrawn.";
        var withdrawn = request.NewOperation(SyncStatus.Queued);
        SyncOperationStore.MarkEnded(withdrawn, SyncStatus.Failed, FailureReason.EnqueueFailed, message, now);
        try
        {
            await operations.InsertAsync(withdrawn, cancellationToken).ConfigureAwait(false);
            await operations.ReportEndedAsync(withdrawn, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            var begun = await operations.GetAsync(request.TenantId, request.SyncId, cancellationToken).ConfigureAwait(false);
            if (begun is { IsTerminal: false })
            {
                return new TriggerResult.Accepted(begun);
            }
        }

        await SyncInstances.TerminateAsync(client, request.SyncId, message, cancellationToken).ConfigureAwait(false);
        return new TriggerResult.Unavailable($"The sync engine did not decide within {(int)DecisionTimeout.TotalSeconds} s; try again shortly.", request.SyncId);
    }

    /// <summary>
    /// How often the trigger reads the instance while the decision is expected: an idle engine decides
    /// 150-400 ms after the schedule (start message, lock request, lock answer, SyncBegin, each a queue
    /// hop; more when a hop crosses instances, up to host.json's maxQueuePollingInterval each), so a
    /// fine cadence here is what keeps the answer close to the decision (the earlier 20 ms growing to 250 ms
    /// left 100-250 ms between reads just when the decision lands). Each read is one point read of the
    /// instances table through the extension: at most 40 in the fine window, a trigger's only extra cost.
    /// </summary>
    private static readonly TimeSpan FastPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>How long the fine cadence lasts: past this the engine is slow (a partition moving between instances, a cold start).</summary>
    private static readonly TimeSpan FastPollWindow = TimeSpan.FromSeconds(2);

    /// <summary>The cadence after <see cref="FastPollWindow"/>, up to <see cref="DecisionTimeout"/>: a slow engine is not hurried by reads.</summary>
    private static readonly TimeSpan SlowPoll = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// At most this many instance reads a second from all the triggers waiting on this instance together. A
    /// thousand triggers at once, each reading every 50 ms, made 20,000 reads a second: more than the storage
    /// account's engine could serve, so no decision came at all (bench: 0 of 1,000 decided in 30 s). Spread
    /// over the waiting triggers, the reads cost a fixed budget and each decision is seen a little later.
    /// </summary>
    private const int ReadsPerSecond = 200;

    private int _waiting;

    /// <summary>
    /// The orchestration's custom status once the lock has decided; null when it has not within
    /// <see cref="DecisionTimeout"/>. Waited on the engine's clock, which is real time whatever clock
    /// the app runs on (durable timers and queue polling are the backend's). Polled, not
    /// <c>WaitForInstanceStartAsync</c>: that answers at Running, before the lock has decided, and the
    /// extension's gRPC server behind it reads the instance only once a second.
    /// </summary>
    private async Task<SyncDecision?> WaitForDecisionAsync(DurableTaskClient client, string syncId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            return await PollDecisionAsync(client, syncId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    private async Task<SyncDecision?> PollDecisionAsync(DurableTaskClient client, string syncId, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        var started = time.GetTimestamp();
        while (true)
        {
            // Inputs and outputs are asked for because the extension returns the custom status only with them.
            var instance = await client.GetInstanceAsync(syncId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
            if (instance?.ReadCustomStatusAs<SyncDecision>() is { } decision)
            {
                return decision;
            }

            var waited = time.GetElapsedTime(started);
            if (instance is { IsCompleted: true } || waited >= DecisionTimeout)
            {
                return null;
            }

            var cadence = waited < FastPollWindow ? FastPoll : SlowPoll;
            var share = TimeSpan.FromSeconds(Volatile.Read(ref _waiting) / (double)ReadsPerSecond);
            await Task.Delay(share > cadence ? share : cadence, time, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduled sync {SyncId} for tenant {TenantId} ({Connectors} connectors)")]
    private static partial void LogScheduled(ILogger logger, string syncId, string tenantId, int connectors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} of tenant {TenantId}: no lock decision within {Seconds} s")]
    private static partial void LogUndecided(ILogger logger, string syncId, string tenantId, int seconds);
}
