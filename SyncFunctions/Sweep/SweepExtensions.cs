namespace SyncFunctions.Sweep;

public static class SweepExtensions
{
    public static IServiceCollection AddSweep(this IServiceCollection services) => services.AddSingleton<StaleSyncSweep>();
}
