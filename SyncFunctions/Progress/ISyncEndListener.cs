namespace SyncFunctions.Progress;

/// <summary>
/// Told once per operation, by the write that moved it to its end state (a run's last write, or a
/// sweep, cancel, poison or give-up through <see cref="SyncOperationStore.TryEndAsync"/>). The one seam
/// for everything that reacts to the end of a sync (the e-mail summary now, live progress next), so
/// the end paths need not know who listens. Called before the caller releases the tenant lock: a
/// listener does at most one short write here and leaves slow work (sending) to the background.
/// </summary>
public interface ISyncEndListener
{
    Task OnSyncEndedAsync(SyncOperationEntity ended, CancellationToken cancellationToken);
}
