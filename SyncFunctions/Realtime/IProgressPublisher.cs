using SyncFunctions.Progress;

namespace SyncFunctions.Realtime;

/// <summary>
/// Pushes live events to connected clients: the in-process SignalR hub, or Azure SignalR Service's
/// REST API when it is configured. Publishing is best effort: a failure is logged, never thrown into
/// the run (the Server-Sent Events stream reads the stored events and does not depend on it).
/// </summary>
public interface IProgressPublisher
{
    Task PublishAsync(string tenantId, string syncId, IReadOnlyList<SyncEvent> events, CancellationToken cancellationToken);
}

/// <summary>Group names: a client joins its tenant's group, or one sync's group, and only of its own tenant.</summary>
public static class ProgressGroups
{
    public static string Tenant(string tenantId) => $"tenant.{tenantId}";

    public static string Sync(string tenantId, string syncId) => $"sync.{tenantId}.{syncId}";
}
