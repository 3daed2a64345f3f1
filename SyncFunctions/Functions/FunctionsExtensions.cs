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

public static partial class FunctionsExtensions
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

    /// <summary>
    /// Says at start who drives the queue and timer functions. Under the host, SyncRun/function.json reads
    /// the queue <c>sync-runs</c>; a storage prefix would make the app send to another queue that nothing reads.
    /// </summary>
    public static WebApplication LogFunctionsHostMode(this WebApplication app)
    {
        var mode = app.Services.GetRequiredService<FunctionsHostMode>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(FunctionsExtensions));
        if (mode.UnderFunctionsHost)
        {
            LogUnderHost(logger, app.Configuration[FunctionsHostMode.CustomHandlerPortVariable]!);
            var prefix = app.Configuration[Storage.StorageSettings.PrefixSettingName];
            if (!string.IsNullOrEmpty(prefix))
            {
                LogPrefixUnderHost(logger, prefix, Storage.StorageSettings.PrefixSettingName, $"{prefix}-{Storage.SyncStorage.RunQueueName}", Storage.SyncStorage.RunQueueName);
            }
        }
        else if (!mode.LocalDriversEnabled)
        {
            LogDriversOff(logger, FunctionsHostMode.DisableLocalDriversVariable);
        }

        return app;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Running under the Azure Functions host (port {Port}): the host drives SyncRun and StaleSyncSweep")]
    private static partial void LogUnderHost(ILogger logger, string port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Variable} is '{Prefix}': runs are sent to queue {Queue}, but the SyncRun function reads {FunctionQueue}; leave the prefix empty under the Functions host")]
    private static partial void LogPrefixUnderHost(ILogger logger, string prefix, string variable, string queue, string functionQueue);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Variable} is set: this instance runs no queue listener and no sweep timer")]
    private static partial void LogDriversOff(ILogger logger, string variable);
}
