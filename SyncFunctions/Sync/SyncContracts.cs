using SyncFunctions.Progress;
using SyncFunctions.Configuration;
using SyncFunctions.Sync;

namespace SyncFunctions.Sync;

/// <summary>
/// The timing settings a sync runs under, taken once when it is triggered and carried in its input,
/// so every replay of its orchestration computes the same deadlines whatever the settings are by then.
/// </summary>
public sealed record SyncTimings(int BaseSeconds, int PerItemSeconds, int MinSeconds, int MaxSeconds, int StaleAfterSeconds, int QueueTimeoutSeconds)
{
    public static SyncTimings From(SyncOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new(options.BaseTimeoutSeconds, options.PerFileTimeoutSeconds, options.MinTimeoutSeconds, options.MaxTimeoutSeconds,
            (int)options.StaleAfter.TotalSeconds, options.QueueTimeoutSeconds);
    }

    /// <summary>The seed's formula: clamp(base + items × per_item, min, max).</summary>
    public int TimeoutFor(long items) => AdaptiveTimeout.Compute(items, BaseSeconds, PerItemSeconds, MinSeconds, MaxSeconds);
}

/// <summary>
/// The input of <see cref="SyncOrchestration"/>; its instance id is <see cref="SyncId"/>. <see cref="EndedHolderSyncId"/>:
/// the holder of the tenant's lock the trigger found already ended (see <see cref="LockRequest"/>).
/// </summary>
public sealed record SyncRequest(
    string TenantId,
    string SyncId,
    IReadOnlyList<string> Connectors,
    string? TriggeredBy,
    string? TraceParent,
    SyncTimings Timings,
    string? EndedHolderSyncId = null)
{
    /// <summary>The sync's operation row as it starts, in <paramref name="status"/>, every connector at its first stage.</summary>
    public SyncOperationEntity NewOperation(string status)
    {
        var operation = new SyncOperationEntity
        {
            SyncId = SyncId,
            TenantId = TenantId,
            Status = status,
            Connectors = string.Join(',', Connectors),
            TriggeredBy = TriggeredBy,
            CreatedAt = Progress.SyncId.StartTime(SyncId),
            TraceParent = TraceParent,
        };
        operation.WriteConnectorProgress(Connectors.Select(c => new ConnectorProgress { Connector = c, Status = status, Stage = SyncStage.Initializing }));
        return operation;
    }
}

/// <summary>
/// What the orchestration shows as its custom status (the portal's and the trigger's view): first the
/// lock's decision, then the sync's status and stage as the run moves on.
/// </summary>
public sealed record SyncDecision(string Decision, string? HolderSyncId, string? Status = null, string? Stage = null)
{
    public const string Acquired = "acquired";
    public const string Busy = "busy";

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsAcquired => Decision == Acquired;
}

/// <summary>What the orchestration returns: how the sync ended, or that it never ran because the tenant was busy.</summary>
public sealed record SyncOutcome(string Status, string? FailureReason, string? HolderSyncId = null);

/// <summary>What <see cref="SyncActivities.InspectHolder"/> found about the sync that holds the tenant.</summary>
public sealed record HolderVerdict(string Kind, string? Reason = null)
{
    /// <summary>Running with a fresh heartbeat, or too young to have written its operation yet: the tenant is busy.</summary>
    public const string Live = "live";

    /// <summary>Its operation has ended; the lock outlived it.</summary>
    public const string Ended = "ended";

    /// <summary>Its heartbeat is older than the stale window, or it never began: fail it and take over.</summary>
    public const string Stuck = "stuck";
}

public sealed record HolderQuery(string TenantId, string HolderSyncId, DateTimeOffset HeldSince, SyncTimings Timings);

public sealed record StuckHolder(string TenantId, string HolderSyncId, string ReplacedBy, string Reason);

public sealed record BeginInput(SyncRequest Request, string? ReplacedSyncId);

/// <summary>Which connector of which sync a step is for, and the numbers its timeouts come from.</summary>
public sealed record ConnectorStep(string TenantId, string SyncId, string Connector, SyncTimings Timings);

/// <summary>
/// What <see cref="SyncActivities.DetectChanges"/> found: the connector's item count and its own adaptive
/// timeout; or, in <see cref="Ended"/>, how the connector already ended (it failed, or had nothing to do).
/// </summary>
public sealed record DetectedWork(int Items, int TimeoutSeconds, ConnectorResult? Ended);

/// <summary>
/// One batch: the items from <see cref="From"/> on, for as long as a batch runs. The counts and failed
/// keys before it come from the batches the orchestration has recorded, so a redelivered batch counts
/// from there again, and the batch that reaches the last item commits knowing every failure.
/// </summary>
public sealed record BatchInput(
    ConnectorStep Step, int From, int TotalItems, int ProcessedBefore, IReadOnlyList<string> FailedKeysBefore, DateTimeOffset Deadline, int TimeoutSeconds);

/// <summary>Where the next batch starts, what this one did and the keys of its failed items; or, once the connector has ended (committed, failed), how.</summary>
public sealed record BatchResult(int Next, int Processed, IReadOnlyList<string> FailedKeys, ConnectorResult? Ended);

public sealed record EndInput(string TenantId, string SyncId, string Status, string? FailureReason, string? ErrorMessage);

