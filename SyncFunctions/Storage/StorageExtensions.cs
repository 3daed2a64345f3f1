using Azure;

namespace SyncFunctions.Storage;

public static class StorageExtensions
{
    public static IServiceCollection AddSyncStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(_ => StorageSettings.FromConfiguration(configuration));
        services.AddSingleton<Telemetry.StorageRequestCounter>();
        services.AddSingleton<SyncStorage>();
        services.AddHostedService<StorageInitializer>();
        return services;
    }

    public static bool IsConflict(this RequestFailedException exception) => exception.Status == 409;

    public static bool IsPreconditionFailed(this RequestFailedException exception) => exception.Status == 412;

    public static bool IsNotFound(this RequestFailedException exception) => exception.Status == 404;
}
