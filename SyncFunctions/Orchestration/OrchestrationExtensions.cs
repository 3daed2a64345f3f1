namespace SyncFunctions.Orchestration;

public static class OrchestrationExtensions
{
    public static IServiceCollection AddOrchestration(this IServiceCollection services)
    {
        services.AddSingleton<AdaptiveTimeout>();
        services.AddSingleton<RunQueueSignal>();
        services.AddSingleton<RunningSyncs>();
        services.AddSingleton<WorkerIdentity>();
        services.AddSingleton<ConnectorActivity>();
        services.AddSingleton<SyncOrchestrator>();
        services.AddSingleton<SyncTrigger>();
        services.AddSingleton<SyncCancellation>();
        return services;
    }
}
