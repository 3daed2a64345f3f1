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
    /// <summary>How long a trigger waits for the lock's decision; it takes well under a second when the engine is healthy.</summary>
    public static readonly TimeSpan DecisionTimeout = TimeSpan.FromSeconds(30);

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
        if (held?.State is { } state)
        {
            var holder = await operations.GetAsync(tenantId, state.HolderSyncId, cancellationToken).ConfigureAwait(false);
            if (SyncActivities.Judge(holder, state.HeldSince, now, timings).Kind == HolderVerdict.Live)
            {
                metrics.LockConflict();
                return new TriggerResult.Conflict(holder, state.HolderSyncId, state.HeldSince);
            }
        }

        var syncId = Progress.SyncId.New(now);
        var request = new SyncRequest(tenantId, syncId, requested, triggeredBy, System.Diagnostics.Activity.Current?.Id, timings);
        await client.ScheduleNewOrchestrationInstanceAsync(SyncOrchestration.Name, request, new StartOrchestrationOptions(syncId), cancellationToken).ConfigureAwait(false);
        LogScheduled(logger, syncId, tenantId, requested.Count);

        var decision = await WaitForDecisionAsync(client, syncId, cancellationToken).ConfigureAwait(false);
        if (decision is null)
        {
            LogUndecided(logger, syncId, tenantId, (int)DecisionTimeout.TotalSeconds);
            return new TriggerResult.Unavailable(
                $"The sync engine did not decide within {(int)DecisionTimeout.TotalSeconds} s; sync {syncId} may still start: see its status.", syncId);
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
    /// The orchestration's custom status once the lock has decided; null when it has not within
    /// <see cref="DecisionTimeout"/>. Waited on the engine's clock, which is real time whatever clock
    /// the app runs on (durable timers and queue polling are the backend's).
    /// </summary>
    private static async Task<SyncDecision?> WaitForDecisionAsync(DurableTaskClient client, string syncId, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        var deadline = time.GetUtcNow() + DecisionTimeout;
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var instance = await client.GetInstanceAsync(syncId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
            if (instance?.ReadCustomStatusAs<SyncDecision>() is { } decision)
            {
                return decision;
            }

            if (instance is { IsCompleted: true } || time.GetUtcNow() >= deadline)
            {
                return null;
            }

            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 1.5, 250));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduled sync {SyncId} for tenant {TenantId} ({Connectors} connectors)")]
    private static partial void LogScheduled(ILogger logger, string syncId, string tenantId, int connectors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} of tenant {TenantId}: no lock decision within {Seconds} s")]
    private static partial void LogUndecided(ILogger logger, string syncId, string tenantId, int seconds);
}
