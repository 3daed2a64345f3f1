using SyncFunctions.Locking;
using SyncFunctions.Progress;

namespace SyncFunctions.Orchestration;

public abstract record CancelResult
{
    private CancelResult()
    {
    }

    public sealed record Cancelled(SyncOperationEntity Operation) : CancelResult;

    public sealed record NotFound : CancelResult;

    public sealed record AlreadyEnded(SyncOperationEntity Operation) : CancelResult;
}

/// <summary>
/// Cancels a sync wherever it runs: the end state is written first (conditionally), then the lock is
/// released, then a run in this process is stopped at once; a run elsewhere stops at its next write.
/// </summary>
public sealed class SyncCancellation(SyncOperationStore operations, TableTenantLock tenantLock, RunningSyncs running)
{
    public async Task<CancelResult> CancelAsync(string tenantId, string syncId, string? cancelledBy, CancellationToken cancellationToken)
    {
        var message = cancelledBy is null ? "Cancelled by the user." : $"Cancelled by {cancelledBy}.";
        var ended = await operations.TryEndAsync(tenantId, syncId, SyncStatus.Cancelled, FailureReason.CancelledByUser, message, null, cancellationToken).ConfigureAwait(false);
        if (ended is null)
        {
            var current = await operations.GetAsync(tenantId, syncId, cancellationToken).ConfigureAwait(false);
            return current is null ? new CancelResult.NotFound() : new CancelResult.AlreadyEnded(current);
        }

        await tenantLock.ReleaseAsync(tenantId, syncId, null, cancellationToken).ConfigureAwait(false);
        running.TryCancel(syncId);
        return new CancelResult.Cancelled(ended);
    }
}
