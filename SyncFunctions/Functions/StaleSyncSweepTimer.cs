using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Orchestration;
using SyncFunctions.Sweep;

namespace SyncFunctions.Functions;

/// <summary>
/// The local driver of <c>StaleSyncSweep</c>: once at start (so a restart after a crash cleans up at
/// once) and then every <c>SYNC_CLEANUP_INTERVAL_SECONDS</c>, under the sweeper lease so that one
/// instance of many sweeps.
/// </summary>
public sealed partial class StaleSyncSweepTimer(
    StaleSyncSweepFunction function,
    SweeperLease sweeperLease,
    WorkerIdentity worker,
    FunctionsHostMode mode,
    TimeProvider time,
    IOptions<SyncOptions> options,
    ILogger<StaleSyncSweepTimer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!mode.LocalDriversEnabled)
        {
            return;
        }

        var interval = options.Value.CleanupInterval;
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            try
            {
                if (await sweeperLease.TryAcquireAsync(worker.Id, interval, stoppingToken).ConfigureAwait(false))
                {
                    await function.InvokeAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (Azure.RequestFailedException e)
            {
                LogSweepFailed(logger, e, e.Status);
            }
            catch (AggregateException e) when (Storage.StorageFailures.AllTriesFailed(e))
            {
                // Storage unreachable: the next tick sweeps again; escaping here would stop the host.
                LogSweepFailed(logger, e, 0);
            }
        }
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The stale-sync sweep failed ({Status}); it runs again next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception, int status);
}
