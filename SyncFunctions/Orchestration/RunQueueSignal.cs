namespace SyncFunctions.Orchestration;

/// <summary>
/// Tells the in-process queue listener that a run message was just sent, so a trigger starts running
/// at once instead of at the next poll.
/// </summary>
public sealed class RunQueueSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        if (_signal.CurrentCount == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled by a concurrent trigger; one wake-up serves both.
            }
        }
    }

    public void Dispose() => _signal.Dispose();

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}
