using System.Text.Json;
using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace SyncFunctions.Realtime;

public static class RealtimeExtensions
{
    /// <summary>Live progress: Azure SignalR Service when configured, else the in-process hub; SSE either way.</summary>
    public static IServiceCollection AddRealtime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SignalRServiceOptions>().Bind(configuration).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SignalRServiceOptions>, SignalRServiceOptionsValidator>();
        services.AddOptions<StreamOptions>().Bind(configuration).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StreamOptions>, StreamOptionsValidator>();

        // One credential for every Azure service the app calls with Entra tokens; AZURE_CLIENT_ID picks
        // the user-assigned identity in Azure.
        services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential(new DefaultAzureCredentialOptions
        {
            ManagedIdentityClientId = configuration["AZURE_CLIENT_ID"],
        }));

        services.AddSignalR().AddJsonProtocol(o => o.PayloadSerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        services.AddHttpClient<SignalRServiceClient>(c => c.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton<HubProgressPublisher>();
        services.AddSingleton<SignalRServicePublisher>();
        services.AddSingleton<LocalProgressSignal>();
        services.AddSingleton<IProgressPublisher>(sp => new ProgressFanOut(
            sp.GetRequiredService<LocalProgressSignal>(),
            sp.GetRequiredService<IOptions<SignalRServiceOptions>>().Value.Enabled
                ? sp.GetRequiredService<SignalRServicePublisher>()
                : sp.GetRequiredService<HubProgressPublisher>()));
        return services;
    }
}
