using SyncFunctions.Api;
using SyncFunctions.Configuration;
using SyncFunctions.Connectors;
using SyncFunctions.Notifications;
using SyncFunctions.Sync;
using SyncFunctions.Realtime;
using SyncFunctions.Security;
using SyncFunctions.Storage;
using SyncFunctions.Sweep;
using SyncFunctions.Telemetry;

namespace SyncFunctions;

/// <summary>
/// The app's services, one registration per capability: what the Functions worker registers in
/// Program.cs and what SyncFunctions.LocalHost registers beside the Durable extension, so both hosts
/// run the functions on the same services.
/// </summary>
public static class SyncFunctionsApp
{
    public static IHostApplicationBuilder AddSyncFunctions(this IHostApplicationBuilder builder)
    {
        builder.AddTelemetry();
        builder.Services
            .AddSyncOptions(builder.Configuration)
            .AddSyncStorage(builder.Configuration)
            .AddConnectors(builder.Configuration)
            .AddSync()
            .AddSweep()
            .AddRealtime(builder.Configuration)
            .AddNotifications(builder.Configuration)
            .AddSecurity(builder.Configuration, builder.Environment)
            .AddApi();
        return builder;
    }
}
