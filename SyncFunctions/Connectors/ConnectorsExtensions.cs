using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using SyncFunctions.Connectors.Box;
using SyncFunctions.Connectors.Demo;
using SyncFunctions.Connectors.Folder;
using SyncFunctions.Connectors.GitHub;
using SyncFunctions.Connectors.Gmail;
using SyncFunctions.Connectors.Slack;
using SyncFunctions.Security;
using SyncFunctions.Storage;

namespace SyncFunctions.Connectors;

public static class ConnectorsExtensions
{
    public static IServiceCollection AddConnectors(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddDataProtection().SetApplicationName("SyncFunctions");
        services.AddOptions<KeyManagementOptions>()
            .Configure<SyncStorage>((options, storage) => options.XmlRepository = new BlobKeyRing(storage.KeyRing));

        services.AddSingleton<ConnectionStore>();
        services.AddSingleton<DocumentSink>();
        services.AddSingleton<ConnectorRegistry>();
        services.AddSingleton<CheckpointStore>();
        services.AddSingleton<IConnector, DemoConnector>();
        services.AddFolderConnector(configuration);
        services.AddSlackConnector();
        services.AddGitHubConnector();
        services.AddBoxConnector();
        services.AddGmailConnector();
        services.AddHostedService<DemoTenantSeeder>();
        return services;
    }
}
