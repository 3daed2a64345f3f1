using SyncFunctions.Progress;

namespace SyncFunctions.Realtime;

/// <summary>
/// What the engine publishes to after each stored write: this instance's Server-Sent Events streams of
/// the sync are woken first (they read the row themselves), then SignalR clients get the events pushed
/// through the hub or Azure SignalR Service.
/// </summary>
public sealed class ProgressFanOut(LocalProgressSignal streams, IProgressPublisher signalR) : IProgressPublisher
{
    public Task PublishAsync(string tenantId, string syncId, IReadOnlyList<SyncEvent> events, CancellationToken cancellationToken)
    {
        streams.Notify(tenantId, syncId);
        return signalR.PublishAsync(tenantId, syncId, events, cancellationToken);
    }
}
