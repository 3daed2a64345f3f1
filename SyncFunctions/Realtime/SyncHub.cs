using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using SyncFunctions.Progress;
using SyncFunctions.Security;

namespace SyncFunctions.Realtime;

/// <summary>
/// The in-process hub at <c>/api</c> (clients negotiate at <c>/api/negotiate</c>). It only pushes:
/// clients invoke nothing. A connection joins its own tenant's group, or, with <c>?sync_id=</c>, that
/// sync's group within its tenant; the token decides the tenant, never a parameter.
/// </summary>
[Authorize]
public sealed class SyncHub : Hub
{
    public override async Task OnConnectedAsync()
    {
        var tenant = Context.User?.FindFirst("tid")?.Value;
        if (!InputRules.IsValidTenantId(tenant))
        {
            Context.Abort();
            return;
        }

        var query = Context.GetHttpContext()?.Request.Query;
        var syncId = query is not null && query.TryGetValue("sync_id", out var value) ? value.ToString() : null;
        if (syncId is not null && !SyncId.IsValid(syncId))
        {
            Context.Abort(); // negotiate refuses it first; a transport request naming a bad sync joins no group at all
            return;
        }

        var group = syncId is not null ? ProgressGroups.Sync(tenant!, syncId) : ProgressGroups.Tenant(tenant!);
        await Groups.AddToGroupAsync(Context.ConnectionId, group).ConfigureAwait(false);
        await base.OnConnectedAsync().ConfigureAwait(false);
    }
}

/// <summary>Publishes through the in-process hub: reaches the clients connected to this instance.</summary>
public sealed partial class HubProgressPublisher(IHubContext<SyncHub> hub, ILogger<HubProgressPublisher> logger) : IProgressPublisher
{
    public async Task PublishAsync(string tenantId, string syncId, IReadOnlyList<SyncEvent> events, CancellationToken cancellationToken)
    {
        var groups = new[] { ProgressGroups.Tenant(tenantId), ProgressGroups.Sync(tenantId, syncId) };
        foreach (var e in events)
        {
            try
            {
                await hub.Clients.Groups(groups).SendAsync(e.Type, e.Data, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPublishFailed(logger, ex, e.Type, syncId);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing {EventType} of sync {SyncId} to the hub failed")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, string eventType, string syncId);
}
