using System.Text.Json;
using Azure.Core.Serialization;
using Microsoft.Azure.Functions.Worker;

namespace SyncFunctions.Sync;

public static class SyncExtensions
{
    /// <summary>
    /// The JSON of orchestration inputs, outputs, events, custom status and activity payloads in the
    /// task hub. Set explicitly (the worker's default depends on whatever else configures
    /// JsonSerializerOptions), so both hosts write and read the same documents.
    /// </summary>
    public static readonly JsonSerializerOptions DurableJson = new(JsonSerializerDefaults.Web);

    public static IServiceCollection AddSync(this IServiceCollection services)
    {
        services.Configure<WorkerOptions>(o => o.Serializer = new JsonObjectSerializer(DurableJson));
        services.AddSingleton<ConnectorActivity>();
        services.AddSingleton<WorkListStore>();
        services.AddSingleton<SyncStarter>();
        services.AddSingleton<SyncCancellation>();
        return services;
    }
}
