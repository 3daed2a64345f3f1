using Microsoft.DurableTask.Client;
using SyncFunctions.Progress;

namespace SyncFunctions.Sync;

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
/// Cancels a sync: the end state is written first (conditionally: a sync that ended meanwhile keeps its
/// end), then its orchestration is told, which stops waiting, frees the tenant and sends the e-mail; its
/// connector activities stop at their next write.
/// </summary>
public sealed class SyncCancellation(SyncOperationStore operations)
{
    public async Task<CancelResult> CancelAsync(DurableTaskClient client, string tenantId, string syncId, string? cancelledBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var message = cancelledBy is null ? "Cancelled by the user." : $"Cancelled by {cancelledBy}.";
        var ended = await operations.TryEndAsync(tenantId, syncId, SyncStatus.Cancelled, FailureReason.CancelledByUser, message, null, cancellationToken).ConfigureAwait(false);
        if (ended is null)
        {
            var current = await operations.GetAsync(tenantId, syncId, cancellationToken).ConfigureAwait(false);
            return current is null ? new CancelResult.NotFound() : new CancelResult.AlreadyEnded(current);
        }

        // At-least-once: an event to an instance that has finished is dropped; the sweep frees a lock left behind.
        await client.RaiseEventAsync(syncId, SyncOrchestration.CancelEvent, cancelledBy ?? "", cancellationToken).ConfigureAwait(false);
        return new CancelResult.Cancelled(ended);
    }
}
