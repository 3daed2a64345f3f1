using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Entities;

namespace SyncFunctions.Locking;

/// <summary>Who holds a tenant: the holding sync's id and when it took the lock. Plain data, the entity's stored state.</summary>
public sealed record TenantLockState(string HolderSyncId, DateTimeOffset HeldSince);

/// <summary>
/// An acquire request: the sync asking, and when it asked (the orchestration's clock). <see cref="EndedHolderSyncId"/>
/// names a holder the trigger found ended: an ended sync never runs again, so a lock it still holds (its release
/// signal not yet processed) is the asker's without another look at the holder.
/// </summary>
public sealed record LockRequest(string SyncId, DateTimeOffset At, string? EndedHolderSyncId = null);

/// <summary>A take-over: only from the holder the caller names, so two syncs replacing one stuck holder cannot both win.</summary>
public sealed record LockTakeover(string FromSyncId, string ToSyncId, DateTimeOffset At);

/// <summary>What acquire or take-over answered: acquired, or the holder that keeps the tenant.</summary>
public sealed record LockDecision(bool Acquired, string HolderSyncId, DateTimeOffset HeldSince)
{
    public static LockDecision Of(TenantLockState state, string asking) => new(state.HolderSyncId == asking, state.HolderSyncId, state.HeldSince);
}

/// <summary>
/// The per-tenant lock, an entity keyed by tenant id (DESIGN, "A sync as an orchestration"). Its
/// operations are serialized by the Durable engine, which is what makes N racing triggers yield one
/// holder. The lock is data, never a <c>LockEntitiesAsync</c> critical section: a crashed holder cannot
/// keep it, because take-over and the sweep can always replace or clear it by naming the holder.
/// A free lock has no state, so the entity is deleted and listing entities lists held locks only.
/// Operations run at least once (a redelivered batch): each is idempotent for the sync it names.
/// </summary>
public sealed class TenantLock : TaskEntity<TenantLockState?>
{
    public const string Name = nameof(TenantLock);

    public static EntityInstanceId For(string tenantId) => new(Name, tenantId);

    /// <summary>
    /// Takes a free lock, or one still held by the ended sync the request names (only that one: anyone else
    /// holding keeps it); the holder asking again gets it again (a replayed or redelivered acquire).
    /// </summary>
    public LockDecision Acquire(LockRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (State is null || (request.EndedHolderSyncId is { } ended && State.HolderSyncId == ended))
        {
            State = new TenantLockState(request.SyncId, request.At);
        }

        return LockDecision.Of(State, request.SyncId);
    }

    /// <summary>Replaces the holder the caller names (a stuck or ended sync); anyone else holding keeps the lock.</summary>
    public LockDecision TakeOver(LockTakeover takeover)
    {
        ArgumentNullException.ThrowIfNull(takeover);
        if (State is null || State.HolderSyncId == takeover.FromSyncId)
        {
            State = new TenantLockState(takeover.ToSyncId, takeover.At);
        }

        return LockDecision.Of(State, takeover.ToSyncId);
    }

    /// <summary>Frees the lock only for the sync it names: a late release by a replaced holder changes nothing.</summary>
    public bool Release(string syncId)
    {
        if (State?.HolderSyncId != syncId)
        {
            return false;
        }

        State = null;
        return true;
    }

    public TenantLockState? Get() => State;

    /// <summary>No holder until someone acquires (the base class would construct a state).</summary>
    protected override TenantLockState? InitializeState(TaskEntityOperation entityOperation) => null;

    [Function(Name)]
    public static Task DispatchAsync([EntityTrigger] TaskEntityDispatcher dispatcher)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        return dispatcher.DispatchAsync<TenantLock>();
    }
}
