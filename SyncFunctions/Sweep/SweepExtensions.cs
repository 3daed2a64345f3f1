namespace SyncFunctions.Sweep;

public static class SweepExtensions
{
    public static IServiceCollection AddSweep(this IServiceCollection services)
    {
        services.AddSingleton<StaleSyncSweeper>();
        services.AddSingleton<SweeperLease>();
        return services;
    }
}
