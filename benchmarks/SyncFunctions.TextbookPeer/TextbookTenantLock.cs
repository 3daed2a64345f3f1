using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Entities;

namespace SyncFunctions.TextbookPeer;

/// <summary>
/// The entity whose critical section is the tenant's lock. It has no operation and no state: LockEntitiesAsync locks an
/// entity by id, and the docs' critical sections need the entity to exist as a function for its lock requests.
/// </summary>
public sealed class TextbookTenantLock : TaskEntity<int>
{
    public const string Name = nameof(TextbookTenantLock);

    public static EntityInstanceId For(string tenantId) => new(Name, tenantId);

    [Function(Name)]
    public static Task DispatchAsync([EntityTrigger] TaskEntityDispatcher dispatcher)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        return dispatcher.DispatchAsync<TextbookTenantLock>();
    }
}
