using System.Globalization;
using SyncFunctions.Sync;
using SyncFunctions.Progress;

namespace SyncFunctions.Sync;

/// <summary>How a run ended, from its connectors' results: pure, so the orchestration can decide it on replay.</summary>
public static class SyncVerdict
{
    public static (string Status, string? Reason, string? Message) TimedOut(int seconds) =>
        (SyncStatus.Failed, FailureReason.TimedOut, string.Create(CultureInfo.InvariantCulture, $"The sync timed out after {seconds} s."));

    public static (string Status, string? Reason, string? Message) Of(IReadOnlyList<ConnectorResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var failures = results.Where(r => r.Status != SyncStatus.Completed).ToList();
        if (failures.Count == 0)
        {
            return (SyncStatus.Completed, null, null);
        }

        var reason = failures.All(f => f.FailureReason == FailureReason.TimedOut) ? FailureReason.TimedOut : failures.First(f => f.FailureReason != FailureReason.TimedOut).FailureReason;
        return (SyncStatus.Failed, reason ?? FailureReason.ConnectorError, string.Join(" ", failures.Select(f => f.ErrorMessage)));
    }
}
