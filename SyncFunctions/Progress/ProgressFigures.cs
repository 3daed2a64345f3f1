namespace SyncFunctions.Progress;

/// <summary>
/// What every surface shows of a sync's progress at one moment (the trigger's 409, the status and
/// by-id APIs, the progress route, the stream, SignalR, and so the dashboard's card and dialog), worked
/// out from the operation row in this one place so that they cannot disagree.
/// </summary>
public sealed record ProgressFigures(
    string Stage,
    int Percentage,
    int TotalItems,
    int ProcessedItems,
    int FailedItems,
    string? CurrentItem,
    int? EstimatedSecondsRemaining)
{
    public int DoneItems => ProcessedItems + FailedItems;

    public static ProgressFigures Of(SyncOperationEntity operation, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return new ProgressFigures(
            operation.ProgressStage,
            PercentageOf(operation),
            operation.TotalFilesToProcess,
            operation.FilesProcessed,
            operation.FilesFailed,
            operation.CurrentFile,
            SecondsRemainingOf(operation, now));
    }

    /// <summary>The row's percentage; also what the writers store in its ProgressPercentage column.</summary>
    public static int PercentageOf(SyncOperationEntity operation) => ProgressMath.Percentage(
        operation.ProcessingStartedAt is null ? null : operation.TotalFilesToProcess,
        operation.FilesProcessed + operation.FilesFailed,
        operation.Status == SyncStatus.Completed);

    /// <summary>At the sync's own rate since its work list was known; null before that, before the first item, and after the end.</summary>
    private static int? SecondsRemainingOf(SyncOperationEntity operation, DateTimeOffset now) =>
        operation.IsTerminal || operation.ProcessingStartedAt is not { } processingStarted
            ? null
            : ProgressMath.SecondsRemaining(operation.TotalFilesToProcess, operation.FilesProcessed + operation.FilesFailed, now - processingStarted);
}
