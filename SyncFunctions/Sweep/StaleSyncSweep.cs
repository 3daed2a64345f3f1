using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Entities;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Locking;
using SyncFunctions.Notifications;
using SyncFunctions.Progress;
using SyncFunctions.Sync;

namespace SyncFunctions.Sweep;

public sealed record SweepResult(int Cleaned, IReadOnlyList<string> SyncIds);

/// <summary>
/// The backstop behind the orchestration's own timers: walks the held <see cref="TenantLock"/>s (only
/// live syncs hold one and a free lock is deleted, so the cost is O(active), not O(history)), fails the
/// syncs whose heartbeat stopped, whose deadline passed or that never began, terminates their instances
/// and frees their locks; frees any lock whose holder has ended or is unknown; and sends the e-mails of
/// the syncs it ended, and of claims whose sender died. Every write is conditional: two sweeps, or a
/// sweep and a finishing sync, never both end one operation. The timer and the cleanup API come here.
/// </summary>
public sealed partial class StaleSyncSweep(
    SyncOperationStore operations,
    WorkListStore workLists,
    SyncNotifier notifier,
    Telemetry.SyncMetrics metrics,
    TimeProvider time,
    IOptions<SyncOptions> options,
    ILogger<StaleSyncSweep> logger)
{
    public const string Name = nameof(StaleSyncSweep);
    private const int Parallelism = 8;

    [Function(Name)]
    public Task RunAsync([TimerTrigger("%SYNC_SWEEP_SCHEDULE%")] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken) =>
        SweepAsync(client, tenantId: null, cancellationToken);

    /// <param name="tenantId">Only this tenant, or every tenant when null.</param>
    public async Task<SweepResult> SweepAsync(DurableTaskClient client, string? tenantId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var cleaned = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(HeldLocksAsync(client, tenantId, cancellationToken), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (held, ct) =>
        {
            try
            {
                if (await SweepOneAsync(client, held.Tenant, held.State, ct).ConfigureAwait(false) is { } syncId)
                {
                    cleaned.Add(syncId);
                }
            }
            catch (Azure.RequestFailedException e)
            {
                // One tenant's storage hiccup must not stop the cleanup of the others; the next sweep retries it.
                LogSweepOneFailed(logger, e, held.Tenant, held.State.HolderSyncId, e.Status);
            }
        }).ConfigureAwait(false);

        var ids = cleaned.Order(StringComparer.Ordinal).ToList();
        LogCleaned(logger, ids.Count);
        metrics.Swept(ids.Count);

        // The backstop for e-mail claims too: a sender that died mid-send left a claim whose lease ran out.
        await notifier.RecoverAsync(tenantId, cancellationToken).ConfigureAwait(false);
        return new SweepResult(ids.Count, ids);
    }

    private static async IAsyncEnumerable<(string Tenant, TenantLockState State)> HeldLocksAsync(
        DurableTaskClient client, string? tenantId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (tenantId is not null)
        {
            var one = await client.Entities.GetEntityAsync<TenantLockState>(TenantLock.For(tenantId), cancellation: cancellationToken).ConfigureAwait(false);
            if (one?.State is { } state)
            {
                yield return (tenantId, state);
            }

            yield break;
        }

        var query = new EntityQuery { InstanceIdStartsWith = $"@{TenantLock.Name.ToLowerInvariant()}@", IncludeState = true };
        await foreach (var entity in client.Entities.GetAllEntitiesAsync<TenantLockState>(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (entity.State is { } state)
            {
                yield return (entity.Id.Key, state);
            }
        }
    }

    /// <summary>Returns the sync id when this call failed the operation.</summary>
    private async Task<string?> SweepOneAsync(DurableTaskClient client, string tenantId, TenantLockState held, CancellationToken cancellationToken)
    {
        var timings = SyncTimings.From(options.Value);
        var now = time.GetUtcNow();
        var holder = await operations.GetAsync(tenantId, held.HolderSyncId, cancellationToken).ConfigureAwait(false);
        var verdict = SyncActivities.Judge(holder, held.HeldSince, now, timings);
        if (verdict.Kind == HolderVerdict.Live)
        {
            return null;
        }

        string? ended = null;
        if (holder is { IsTerminal: false })
        {
            var (reason, message) = Describe(holder, now, timings);
            var result = await operations.TryEndAsync(tenantId, held.HolderSyncId, SyncStatus.Failed, reason, message,
                fresh => SyncActivities.Judge(fresh, held.HeldSince, time.GetUtcNow(), timings).Kind != HolderVerdict.Live, cancellationToken).ConfigureAwait(false);
            if (result is null)
            {
                return null; // ended by someone else, or alive after all: leave its lock to its owner
            }

            ended = held.HolderSyncId;
            LogFailedStale(logger, held.HolderSyncId, tenantId, reason, message);
            await notifier.NotifyAsync(result, cancellationToken).ConfigureAwait(false);
        }
        else if (holder is not null)
        {
            // Ended, but its lock outlived it: its orchestration died between the end and the release.
            await notifier.NotifyAsync(holder, cancellationToken).ConfigureAwait(false);
        }

        // An instance left Pending or Running without a heartbeat is stopped; then the lock is freed,
        // only for the holder judged (a lock taken over meanwhile stays with its new holder).
        await SyncInstances.TerminateAsync(client, held.HolderSyncId, "Ended by the stale-sync sweep.", cancellationToken).ConfigureAwait(false);
        await workLists.DeleteAllAsync(tenantId, held.HolderSyncId, cancellationToken).ConfigureAwait(false);
        await client.Entities.SignalEntityAsync(TenantLock.For(tenantId), nameof(TenantLock.Release), held.HolderSyncId, cancellation: cancellationToken).ConfigureAwait(false);
        return ended;
    }

    private static (string Reason, string Message) Describe(SyncOperationEntity operation, DateTimeOffset now, SyncTimings timings)
    {
        if (operation.DeadlineAt is { } deadline && deadline <= now)
        {
            return (FailureReason.TimedOut, string.Create(CultureInfo.InvariantCulture,
                $"The sync passed its deadline ({operation.ExpectedDurationSeconds} s) without finishing; timed out by the cleanup."));
        }

        var beat = operation.HeartbeatAt ?? operation.StartedAt ?? operation.CreatedAt;
        return (FailureReason.Stuck, string.Create(CultureInfo.InvariantCulture,
            $"No heartbeat for {(int)(now - beat).TotalSeconds} s (limit {timings.StaleAfterSeconds} s); marked stuck by the cleanup."));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweep of tenant {TenantId} (sync {SyncId}) failed ({Status}); the next sweep retries it")]
    private static partial void LogSweepOneFailed(ILogger logger, Exception exception, string tenantId, string syncId, int status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cleaned up {Count} stuck sync operations")]
    private static partial void LogCleaned(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} of tenant {TenantId} failed by the sweep ({FailureReason}): {ErrorMessage}")]
    private static partial void LogFailedStale(ILogger logger, string syncId, string tenantId, string failureReason, string errorMessage);
}
