using System.Text.Json;

namespace SyncFunctions.Api;

public static class ApiExtensions
{
    public static IServiceCollection AddApi(this IServiceCollection services)
    {
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DictionaryKeyPolicy = null; // settings keep the names their owners gave them
            // Bodies are read as the OpenAPI document describes them: "Connectors" is an unknown property, not "connectors".
            o.SerializerOptions.PropertyNameCaseInsensitive = false;
        });
        services.AddHealth();
        return services;
    }
}
