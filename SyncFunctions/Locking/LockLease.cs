using Azure;

namespace SyncFunctions.Locking;

/// <summary>A snapshot of a tenant lock; the ETag is what makes every later write conditional.</summary>
public sealed record LockLease(
    string TenantId,
    string HolderId,
    DateTimeOffset AcquiredAt,
    DateTimeOffset? HeartbeatAt,
    DateTimeOffset ExpiresAt,
    ETag ETag)
{
    internal static LockLease From(LockEntity entity) =>
        new(entity.PartitionKey, entity.HolderId, entity.AcquiredAt, entity.HeartbeatAt, entity.ExpiresAt, entity.ETag);

    /// <summary>Stale: the lease has expired, or heartbeats started and then stopped.</summary>
    public bool IsStale(DateTimeOffset now, TimeSpan staleAfter) =>
        now >= ExpiresAt || (HeartbeatAt is { } beat && now - beat > staleAfter);

    public LockStaleness Staleness(DateTimeOffset now, TimeSpan staleAfter) =>
        HeartbeatAt is { } beat && now - beat > staleAfter ? LockStaleness.HeartbeatStopped
        : now >= ExpiresAt ? LockStaleness.Expired
        : LockStaleness.Fresh;
}

public enum LockStaleness
{
    Fresh,
    HeartbeatStopped,
    Expired,
}

/// <summary>The outcome of <see cref="TableTenantLock.AcquireAsync"/>.</summary>
public abstract record LockAcquisition
{
    private LockAcquisition()
    {
    }

    public sealed record Acquired(LockLease Lease, LockLease? Replaced) : LockAcquisition;

    public sealed record Busy(LockLease Holder) : LockAcquisition;
}

/// <summary>Thrown when a holder finds its lock taken by someone else.</summary>
public sealed class LockLostException(string tenantId, string holderId)
    : Exception($"The lock of tenant '{tenantId}' is no longer held by '{holderId}'.")
{
    public string TenantId { get; } = tenantId;

    public string HolderId { get; } = holderId;
}
