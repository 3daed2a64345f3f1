using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Locking;
using SyncFunctions.Notifications;
using SyncFunctions.Progress;

namespace SyncFunctions.Sweep;

public sealed record SweepResult(int Cleaned, IReadOnlyList<string> SyncIds);

/// <summary>
/// The backstop for every lease: walks the held tenant locks (only active syncs have one, so the cost
/// is O(active), not O(history)), fails the operations whose heartbeat stopped or whose deadline
/// passed, and releases their locks. Every write is conditional: two sweepers, or a sweeper and a
/// finishing run, can never both end the same operation. The timer and the cleanup endpoint both
/// come here.
/// </summary>
public sealed partial class StaleSyncSweeper(
    TableTenantLock tenantLock,
    SyncOperationStore operations,
    Telemetry.SyncMetrics metrics,
    SyncNotifier notifier,
    TimeProvider time,
    IOptions<SyncOptions> options,
    ILogger<StaleSyncSweeper> logger)
{
    private const int Parallelism = 8;

    /// <param name="tenantId">Only this tenant, or every tenant when null.</param>
    public async Task<SweepResult> SweepAsync(string? tenantId, CancellationToken cancellationToken)
    {
        var cleaned = new ConcurrentBag<string>();
        var leases = tenantId is null ? tenantLock.ListAsync(cancellationToken) : Single(tenantId, cancellationToken);
        await Parallel.ForEachAsync(leases, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (lease, ct) =>
        {
            try
            {
                if (await SweepOneAsync(lease, ct).ConfigureAwait(false) is { } syncId)
                {
                    cleaned.Add(syncId);
                }
            }
            catch (Azure.RequestFailedException e)
            {
                // One tenant's storage hiccup must not stop the cleanup of the others; the next sweep retries it.
                LogSweepOneFailed(logger, e, lease.TenantId, lease.HolderId, e.Status);
            }
        }).ConfigureAwait(false);

        var ids = cleaned.Order(StringComparer.Ordinal).ToList();
        LogCleaned(logger, ids.Count);
        metrics.Swept(ids.Count);

        // The backstop for e-mail claims too: a sender that died mid-send left a claim whose lease ran out.
        await notifier.RecoverAsync(tenantId, cancellationToken).ConfigureAwait(false);
        return new SweepResult(ids.Count, ids);
    }

    private async IAsyncEnumerable<LockLease> Single(string tenantId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (await tenantLock.GetAsync(tenantId, cancellationToken).ConfigureAwait(false) is { } lease)
        {
            yield return lease;
        }
    }

    /// <summary>Returns the sync id when this call failed the operation.</summary>
    private async Task<string?> SweepOneAsync(LockLease lease, CancellationToken cancellationToken)
    {
        var staleAfter = options.Value.StaleAfter;
        var now = time.GetUtcNow();
        var staleness = lease.Staleness(now, staleAfter);
        var operation = SyncId.IsValid(lease.HolderId) ? await operations.GetAsync(lease.TenantId, lease.HolderId, cancellationToken).ConfigureAwait(false) : null;
        if (staleness == LockStaleness.Fresh && operation is not { IsTerminal: true })
        {
            return null;
        }

        string? ended = null;
        if (operation is { IsTerminal: false })
        {
            var (reason, message) = Describe(operation, lease, staleness, now, staleAfter);
            var result = await operations.TryEndAsync(lease.TenantId, lease.HolderId, SyncStatus.Failed, reason, message,
                o => !IsHealthy(o, now, staleAfter), cancellationToken).ConfigureAwait(false);
            if (result is null)
            {
                return null; // ended by someone else, or alive after all: leave its lock to its owner
            }

            ended = lease.HolderId;
            LogFailedStale(logger, lease.HolderId, lease.TenantId, reason, message);
        }
        else if (operation is not null)
        {
            // Ended, but its lock outlived it: its ender died between the two writes, maybe before claiming the e-mail.
            await notifier.EnsureNotifiedAsync(operation, cancellationToken).ConfigureAwait(false);
        }

        // Released only if unchanged since it was judged: a lock renewed or taken over meanwhile stays.
        await tenantLock.ReleaseAsync(lease.TenantId, lease.HolderId, lease.ETag, cancellationToken).ConfigureAwait(false);
        return ended;
    }

    /// <summary>A running operation whose own run lease is still fresh is alive, whatever its lock says.</summary>
    private static bool IsHealthy(SyncOperationEntity operation, DateTimeOffset now, TimeSpan staleAfter) =>
        operation.Status == SyncStatus.Running
        && operation.RunLeaseExpiresAt is { } lease && lease > now
        && operation.HeartbeatAt is { } beat && now - beat <= staleAfter
        && (operation.DeadlineAt is not { } deadline || deadline > now);

    private static (string Reason, string Message) Describe(SyncOperationEntity operation, LockLease lease, LockStaleness staleness, DateTimeOffset now, TimeSpan staleAfter)
    {
        if (operation.Status == SyncStatus.Queued)
        {
            return (FailureReason.Stuck, string.Create(CultureInfo.InvariantCulture,
                $"No worker picked the sync up within {(int)(lease.ExpiresAt - lease.AcquiredAt).TotalSeconds} s; marked stuck by the cleanup."));
        }

        if (operation.DeadlineAt is { } deadline && deadline <= now)
        {
            return (FailureReason.TimedOut, string.Create(CultureInfo.InvariantCulture,
                $"The sync passed its deadline ({operation.ExpectedDurationSeconds} s) without finishing; timed out by the cleanup."));
        }

        var beat = operation.HeartbeatAt ?? lease.HeartbeatAt ?? lease.AcquiredAt;
        return staleness == LockStaleness.Expired && (now - beat) <= staleAfter
            ? (FailureReason.TimedOut, "The sync's lease expired without finishing; timed out by the cleanup.")
            : (FailureReason.Stuck, string.Create(CultureInfo.InvariantCulture,
                $"No heartbeat for {(int)(now - beat).TotalSeconds} s (limit {(int)staleAfter.TotalSeconds} s); marked stuck by the cleanup."));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweep of tenant {TenantId} (sync {SyncId}) failed ({Status}); the next sweep retries it")]
    private static partial void LogSweepOneFailed(ILogger logger, Exception exception, string tenantId, string syncId, int status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cleaned up {Count} stuck sync operations")]
    private static partial void LogCleaned(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} of tenant {TenantId} failed by the sweep ({FailureReason}): {ErrorMessage}")]
    private static partial void LogFailedStale(ILogger logger, string syncId, string tenantId, string failureReason, string errorMessage);
}
