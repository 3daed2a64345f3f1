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

    public static IServiceCollection AddSyncOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<SyncOptions>().Bind(configuration).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SyncOptions>, SyncOptionsValidator>();
        services.AddSingleton<SyncOperationStore>();
        return services;
    }
}
