namespace SyncFunctions.Progress;

/// <summary>
/// Told once per operation, by the write that moved it to its end state (the orchestration's end, a
/// sweep, a cancel or a take-over, all through <see cref="SyncOperationStore.TryEndAsync"/>), so the end
/// paths need not know who listens (the metrics and the sync's span). Called before the caller goes on
/// to release the tenant lock: a listener does no slow work here.
/// </summary>
public interface ISyncEndListener
{
    Task OnSyncEndedAsync(SyncOperationEntity ended, CancellationToken cancellationToken);
}
