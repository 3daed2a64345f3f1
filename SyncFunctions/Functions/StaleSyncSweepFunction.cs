using SyncFunctions.Sweep;

namespace SyncFunctions.Functions;

/// <summary>The body of the timer-triggered <c>StaleSyncSweep</c> function: one sweep of every tenant.</summary>
public sealed class StaleSyncSweepFunction(StaleSyncSweeper sweeper)
{
    public Task<SweepResult> InvokeAsync(CancellationToken cancellationToken) => sweeper.SweepAsync(null, cancellationToken);
}
