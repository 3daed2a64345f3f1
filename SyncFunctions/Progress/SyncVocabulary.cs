namespace SyncFunctions.Progress;

public static class SyncStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static bool IsTerminal(string status) => status is Completed or Failed or Cancelled;
}

/// <summary>The five stages, in order; a stage's index orders them.</summary>
public static class SyncStage
{
    public const string Initializing = "initializing";
    public const string DetectingChanges = "detecting_changes";
    public const string ProcessingFiles = "processing_files";
    public const string UpdatingEmbeddings = "updating_embeddings";
    public const string Finalizing = "finalizing";

    public static readonly IReadOnlyList<string> All = [Initializing, DetectingChanges, ProcessingFiles, UpdatingEmbeddings, Finalizing];

    public static int IndexOf(string stage)
    {
        for (var i = 0; i < All.Count; i++)
        {
            if (All[i] == stage)
            {
                return i;
            }
        }

        return 0;
    }
}

public static class FailureReason
{
    public const string TimedOut = "timed_out";
    public const string Stuck = "stuck";
    public const string ConnectorError = "connector_error";
    public const string CancelledByUser = "cancelled_by_user";
    public const string Superseded = "superseded";
    public const string WorkerLost = "worker_lost";
    public const string RunFailedRepeatedly = "run_failed_repeatedly";
    public const string EnqueueFailed = "enqueue_failed";
    public const string ConnectionMissing = "connection_missing";
}
