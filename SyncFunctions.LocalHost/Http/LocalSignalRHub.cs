using Microsoft.Extensions.Options;
using SyncFunctions.LocalHost.Catalog;
using SyncFunctions.Realtime;

namespace SyncFunctions.LocalHost.Http;

/// <summary>
/// The one endpoint the local host adds (DESIGN, "Two hosts"): where Azure SignalR Service is not
/// configured, an in-process SignalR hub at <c>/api</c> stands in for it, so the dashboard and the
/// standard SignalR client get live progress. The hub answers <c>/api/negotiate</c> itself, in place of
/// the Function App's negotiate function (which redirects to the Service).
/// </summary>
public sealed class LocalSignalRHub
{
    private readonly bool _mapped;

    private LocalSignalRHub(bool mapped) => _mapped = mapped;

    public static LocalSignalRHub MapIfNoService(WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<SignalRServiceOptions>>().Value.Enabled)
        {
            return new LocalSignalRHub(mapped: false);
        }

        app.UseAuthentication();
        app.UseAuthorization();
        // The negotiate function's own check, so that a bad ?sync_id= gets the same 400 from the hub (after
        // authentication, as from the function) instead of a connection to the tenant's group.
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.Equals("/api/negotiate", StringComparison.Ordinal) && context.User.Identity?.IsAuthenticated == true
                && NegotiateFunction.InvalidSyncId(context.Request) is { } invalid)
            {
                await invalid.ExecuteAsync(context).ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
        });
        app.MapHub<SyncHub>("/api");
        return new LocalSignalRHub(mapped: true);
    }

    public bool Shadows(HostedFunction function) => _mapped && function.Name == NegotiateFunction.Name;
}
