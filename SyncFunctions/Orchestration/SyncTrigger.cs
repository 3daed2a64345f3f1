using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Connectors;
using SyncFunctions.Locking;
using SyncFunctions.Progress;
using SyncFunctions.Storage;
using SyncFunctions.Telemetry;

namespace SyncFunctions.Orchestration;

public abstract record TriggerResult
{
    private TriggerResult()
    {
    }

    public sealed record Accepted(SyncOperationEntity Operation) : TriggerResult;

    /// <summary>
    /// Another sync holds the tenant. <see cref="Running"/> is its operation, or null when the holder's
    /// trigger has taken the lock but not yet written the operation (then only <see cref="Holder"/> is known).
    /// </summary>
    public sealed record Conflict(SyncOperationEntity? Running, LockLease Holder) : TriggerResult;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : TriggerResult;

    public sealed record Unavailable(string Message) : TriggerResult;
}

/// <summary>
/// Starts a sync: lock first, then the operation row, then the run message. Each step undoes the
/// ones before it when it fails, so a failed trigger never leaves a tenant locked.
/// </summary>
public sealed partial class SyncTrigger(
    ConnectionStore connections,
    ConnectorRegistry registry,
    TableTenantLock tenantLock,
    SyncOperationStore operations,
    SyncStorage storage,
    AdaptiveTimeout adaptiveTimeout,
    RunQueueSignal signal,
    SyncMetrics metrics,
    TimeProvider time,
    IOptions<SyncOptions> options,
    ILogger<SyncTrigger> logger)
{
    public async Task<TriggerResult> TriggerAsync(string tenantId, IReadOnlyList<string>? connectors, string? triggeredBy, CancellationToken cancellationToken)
    {
        var configured = (await connections.ListAsync(tenantId, cancellationToken).ConfigureAwait(false)).Select(c => c.Connector).ToHashSet(StringComparer.Ordinal);
        var errors = new Dictionary<string, string[]>();
        var requested = connectors is { Count: > 0 } ? connectors.Distinct(StringComparer.Ordinal).ToList() : configured.Order(StringComparer.Ordinal).ToList();
        foreach (var name in requested)
        {
            if (!registry.TryGet(name, out _))
            {
                errors[$"connectors.{name}"] = [$"Unknown connector. Known: {string.Join(", ", registry.Names.Order(StringComparer.Ordinal))}."];
            }
            else if (!configured.Contains(name))
            {
                errors[$"connectors.{name}"] = ["This connector is not configured for the tenant: PUT /api/v1/connections/{connector} first."];
            }
        }

        if (requested.Count == 0)
        {
            errors["connectors"] = ["The tenant has no configured connections: PUT /api/v1/connections/{connector} first."];
        }

        if (errors.Count > 0)
        {
            return new TriggerResult.Invalid(errors);
        }

        var now = time.GetUtcNow();
        var syncId = SyncId.New(now);
        SyncOperationEntity? holderOperation = null;
        string? replaced = null;

        async Task<bool> Takeover(LockLease holder, bool isStale, CancellationToken ct)
        {
            holderOperation = Progress.SyncId.IsValid(holder.HolderId) ? await operations.GetAsync(tenantId, holder.HolderId, ct).ConfigureAwait(false) : null;
            if (holderOperation is { IsTerminal: true })
            {
                return true; // its sync has ended; the lock outlived it by a crash or is being released right now
            }

            if (!isStale)
            {
                return false; // a live sync, or a trigger that has not written its operation yet
            }

            if (holderOperation is not null)
            {
                // Fail it before replacing the lock: no operation is ever active without the lock row
                // that lets the sweep find it.
                await operations.TryEndAsync(tenantId, holder.HolderId, SyncStatus.Failed, FailureReason.Superseded,
                    "Superseded: it stopped sending heartbeats and a new sync took over the tenant.", null, ct).ConfigureAwait(false);
                replaced = holder.HolderId;
            }

            return true;
        }

        var acquisition = await tenantLock.AcquireAsync(tenantId, syncId, now + options.Value.QueueTimeout, Takeover, cancellationToken).ConfigureAwait(false);
        if (acquisition is LockAcquisition.Busy busy)
        {
            holderOperation ??= Progress.SyncId.IsValid(busy.Holder.HolderId) ? await operations.GetAsync(tenantId, busy.Holder.HolderId, cancellationToken).ConfigureAwait(false) : null;
            metrics.LockConflict();
            return new TriggerResult.Conflict(holderOperation, busy.Holder);
        }

        // At-least-once checkpoint: the tenant is ours. Until the operation row exists, a crash leaves
        // only a lock that expires after SYNC_QUEUE_TIMEOUT_SECONDS.
        var lease = ((LockAcquisition.Acquired)acquisition).Lease;
        var operation = new SyncOperationEntity
        {
            SyncId = syncId,
            TenantId = tenantId,
            Status = SyncStatus.Queued,
            Connectors = string.Join(',', requested),
            TriggeredBy = triggeredBy,
            CreatedAt = now,
            ExpectedDurationSeconds = adaptiveTimeout.SecondsFor(0),
            ReplacedSyncId = replaced,
            TraceParent = System.Diagnostics.Activity.Current?.Id,
        };
        operation.WriteConnectorProgress(requested.Select(c => new ConnectorProgress { Connector = c }));
        try
        {
            await operations.InsertAsync(operation, cancellationToken).ConfigureAwait(false);
        }
        catch (Azure.RequestFailedException e)
        {
            LogTriggerFailed(logger, e, tenantId, "record the operation");
            await tenantLock.ReleaseAsync(tenantId, syncId, lease.ETag, CancellationToken.None).ConfigureAwait(false);
            return new TriggerResult.Unavailable("The sync could not be recorded; nothing was started. Try again.");
        }

        try
        {
            await storage.RunQueue.SendMessageAsync(new RunMessage(tenantId, syncId).ToJson(), cancellationToken).ConfigureAwait(false);
        }
        catch (Azure.RequestFailedException e)
        {
            LogTriggerFailed(logger, e, tenantId, "queue the run");
            await operations.TryEndAsync(tenantId, syncId, SyncStatus.Failed, FailureReason.EnqueueFailed,
                "The sync could not be queued; nothing was started.", null, CancellationToken.None).ConfigureAwait(false);
            await tenantLock.ReleaseAsync(tenantId, syncId, lease.ETag, CancellationToken.None).ConfigureAwait(false);
            return new TriggerResult.Unavailable("The sync could not be queued; nothing was started. Try again.");
        }

        signal.Notify();
        LogQueued(logger, syncId, tenantId, operation.Connectors);
        return new TriggerResult.Accepted(operation);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Queued sync {SyncId} for tenant {TenantId} ({Connectors})")]
    private static partial void LogQueued(ILogger logger, string syncId, string tenantId, string connectors);

    [LoggerMessage(Level = LogLevel.Error, Message = "Trigger for tenant {TenantId} could not {Step}")]
    private static partial void LogTriggerFailed(ILogger logger, Exception exception, string tenantId, string step);
}
