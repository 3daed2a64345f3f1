using System.Globalization;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Locking;
using SyncFunctions.Orchestration;
using SyncFunctions.Progress;

namespace SyncFunctions.Functions;

/// <summary>
/// The body of the queue-triggered <c>SyncRun</c> function: one delivery of a <c>sync-runs</c>
/// message. The local listener and the Functions host both call it; they only differ in how they
/// settle the message afterwards.
/// </summary>
public sealed partial class SyncRunFunction(
    SyncOrchestrator orchestrator,
    SyncOperationStore operations,
    TableTenantLock tenantLock,
    IOptions<SyncOptions> options,
    ILogger<SyncRunFunction> logger)
{
    public async Task<RunOutcome> InvokeAsync(string messageText, string messageId, long dequeueCount, IRunMessageLease lease, CancellationToken cancellationToken)
    {
        var message = RunMessage.TryParse(messageText);
        if (message is null)
        {
            LogMalformed(logger, messageId);
            return RunOutcome.Poison;
        }

        var maxDequeue = options.Value.MaxDequeueCount;
        if (dequeueCount > maxDequeue)
        {
            // Its worker died on the last allowed delivery: end the operation rather than run again.
            await FailExhaustedAsync(message, dequeueCount - 1, "its worker stopped", cancellationToken).ConfigureAwait(false);
            return RunOutcome.Poison;
        }

        RunOutcome outcome;
        try
        {
            outcome = await orchestrator.RunAsync(new RunInvocation(message, messageId, dequeueCount), lease, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (dequeueCount >= maxDequeue && !cancellationToken.IsCancellationRequested)
        {
            LogFailedLastTime(logger, e, message.SyncId, dequeueCount);
            await FailExhaustedAsync(message, dequeueCount, e.Message, CancellationToken.None).ConfigureAwait(false);
            return RunOutcome.Poison;
        }

        if (dequeueCount >= maxDequeue && outcome.Disposition is RunDisposition.Defer or RunDisposition.Abandon)
        {
            // Asking for another delivery on the last one: the Functions host would poison the message
            // without calling us again, leaving the sync running until the sweep. End it now instead.
            var why = outcome.Disposition == RunDisposition.Defer
                ? "its previous run still held the sync on the last delivery"
                : "the instance running it stopped on the last delivery";
            LogGaveUpLastTime(logger, message.SyncId, dequeueCount, outcome.Disposition);
            await FailExhaustedAsync(message, dequeueCount, why, CancellationToken.None).ConfigureAwait(false);
            return RunOutcome.Poison;
        }

        return outcome;
    }

    private async Task FailExhaustedAsync(RunMessage message, long attempts, string lastError, CancellationToken cancellationToken)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"The sync's run failed {attempts} times (last: {lastError}); it was moved to the poison queue.");
        await operations.TryEndAsync(message.TenantId, message.SyncId, SyncStatus.Failed, FailureReason.RunFailedRepeatedly, text, null, cancellationToken).ConfigureAwait(false);
        await tenantLock.ReleaseAsync(message.TenantId, message.SyncId, null, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run message {MessageId} is not a valid run message; moved to the poison queue")]
    private static partial void LogMalformed(ILogger logger, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} asked for another delivery ({Disposition}) on its last one ({DequeueCount}); it is failed instead")]
    private static partial void LogGaveUpLastTime(ILogger logger, string syncId, long dequeueCount, RunDisposition disposition);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sync {SyncId} run failed on its last delivery ({DequeueCount})")]
    private static partial void LogFailedLastTime(ILogger logger, Exception exception, string syncId, long dequeueCount);
}
