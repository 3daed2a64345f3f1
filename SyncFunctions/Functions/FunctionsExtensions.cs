namespace SyncFunctions.Functions;

/// <summary>
/// Whether this server drives its queue and timer functions itself. Under the Functions host (it sets
/// <c>FUNCTIONS_CUSTOMHANDLER_PORT</c>) the host drives them; <c>SYNC_DISABLE_LOCAL_DRIVERS=true</c>
/// turns them off too (an API-only instance, or a test that drives the bodies by hand).
/// </summary>
public sealed class FunctionsHostMode(IConfiguration configuration)
{
    public const string CustomHandlerPortVariable = "FUNCTIONS_CUSTOMHANDLER_PORT";
    public const string DisableLocalDriversVariable = "SYNC_DISABLE_LOCAL_DRIVERS";

    public bool UnderFunctionsHost => !string.IsNullOrEmpty(configuration[CustomHandlerPortVariable]);

    public bool LocalDriversEnabled => !UnderFunctionsHost && !configuration.GetValue<bool>(DisableLocalDriversVariable);
}

public static class FunctionsExtensions
{
    public static IServiceCollection AddFunctions(this IServiceCollection services)
    {
        services.AddSingleton<FunctionsHostMode>();
        services.AddSingleton<SyncRunFunction>();
        services.AddSingleton<StaleSyncSweepFunction>();
        services.AddHostedService<SyncRunQueueListener>();
        services.AddHostedService<StaleSyncSweepTimer>();
        return services;
    }
}
