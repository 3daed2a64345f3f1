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

        var syncId = Context.GetHttpContext()?.Request.Query["sync_id"].ToString();
        var group = SyncId.IsValid(syncId) ? ProgressGroups.Sync(tenant!, syncId!) : ProgressGroups.Tenant(tenant!);
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
