using SyncFunctions.Progress;

namespace SyncFunctions.Orchestration;

public enum RunClaimDecision
{
    /// <summary>Nobody runs it (queued, or its runner's lease expired): take the run lease.</summary>
    Claim,

    /// <summary>Already ended, or a duplicate message while a live runner holds it: nothing to do.</summary>
    Drop,

    /// <summary>Our own message came back while the lease still looks alive: look again once it would have expired.</summary>
    Defer,

    /// <summary>Runners died too often: fail the operation instead of trying again.</summary>
    GiveUp,
}

/// <summary>
/// Who may run an operation, decided from the operation row alone. The claim itself is a conditional
/// write, so of two workers that both decide to claim, one wins; a forged or replayed message can
/// only ever resume a run whose runner is gone, never start a second one.
/// </summary>
public static class RunClaim
{
    public static RunClaimDecision Decide(SyncOperationEntity operation, string messageId, DateTimeOffset now, int maxAttempts)
    {
        if (operation.IsTerminal)
        {
            return RunClaimDecision.Drop;
        }

        if (operation.Status == SyncStatus.Queued)
        {
            return RunClaimDecision.Claim;
        }

        if (operation.RunLeaseExpiresAt is { } expires && expires > now)
        {
            return operation.RunMessageId == messageId ? RunClaimDecision.Defer : RunClaimDecision.Drop;
        }

        return operation.RunAttempt >= maxAttempts ? RunClaimDecision.GiveUp : RunClaimDecision.Claim;
    }
}
