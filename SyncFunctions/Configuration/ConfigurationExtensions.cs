using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SyncFunctions.Progress;

namespace SyncFunctions.Configuration;

public static class ConfigurationExtensions
{
    /// <summary>
    /// local.settings.json (Values) under the environment: environment variables and the command
    /// line still win, as they do for the Functions host.
    /// </summary>
    public static ConfigurationManager AddSyncConfigurationSources(this ConfigurationManager configuration, IHostEnvironment environment, string[] args)
    {
        configuration.AddLocalSettingsJson(environment.ContentRootPath);
        configuration.AddEnvironmentVariables();
        configuration.AddCommandLine(args);
        return configuration;
    }

    /// <summary>
    /// Binds and validates every setting before the host starts, so that a bad value stops the app with
    /// one message naming the variable instead of a host failure with a stack trace.
    /// </summary>
    public static void ValidateSettings(this IServiceProvider services)
    {
        _ = services.GetRequiredService<IOptions<SyncOptions>>().Value;
        _ = services.GetRequiredService<IOptions<Security.AuthOptions>>().Value;
        _ = services.GetRequiredService<IOptions<Connectors.Folder.FolderConnectorOptions>>().Value;
        _ = services.GetRequiredService<Storage.StorageSettings>();
        _ = services.GetRequiredService<IOptions<Notifications.NotificationOptions>>().Value;
    }

    public static IServiceCollection AddSyncOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<SyncOptions>().Bind(configuration).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SyncOptions>, SyncOptionsValidator>();
        services.AddSingleton<SyncOperationStore>();
        return services;
    }
}
