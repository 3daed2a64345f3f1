namespace SyncFunctions.Locking;

public static class LockingExtensions
{
    public static IServiceCollection AddLocking(this IServiceCollection services) => services.AddSingleton<TableTenantLock>();
}
