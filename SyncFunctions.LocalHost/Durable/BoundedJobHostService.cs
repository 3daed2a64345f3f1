using Microsoft.Azure.WebJobs.Hosting;

namespace SyncFunctions.LocalHost.Durable;

/// <summary>
/// The WebJobs SDK's <see cref="JobHostService"/>, stopped within the host's shutdown timeout.
/// Its StopAsync ignores the token, and the Durable extension's stop waits until its table partition
/// manager has released the control-queue leases in storage, retrying for up to ten minutes when
/// storage cannot be reached (Azurite stopped first, or with it, as on Ctrl-C): the process then
/// never exits. Past the timeout this stops waiting; the leases it could not release expire on their
/// own (the lease interval), and another instance takes them then, as after a crash.
/// </summary>
public sealed partial class BoundedJobHostService(JobHostService inner, ILogger<BoundedJobHostService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => inner.StartAsync(cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await inner.StopAsync(cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogStopAbandoned(logger);
        }
    }

    /// <summary>Puts this in the place of the SDK's registration, so hosted services keep their order.</summary>
    public static void ReplaceIn(IServiceCollection services)
    {
        var index = services.Select((descriptor, i) => (descriptor, i))
            .Where(d => d.descriptor.ServiceType == typeof(IHostedService) && d.descriptor.ImplementationType == typeof(JobHostService))
            .Select(d => d.i)
            .DefaultIfEmpty(-1)
            .Single();
        if (index < 0)
        {
            throw new InvalidOperationException("The WebJobs SDK no longer registers its JobHostService as a hosted service; the local host cannot bound its shutdown.");
        }

        services[index] = ServiceDescriptor.Singleton<IHostedService>(sp => new BoundedJobHostService(
            ActivatorUtilities.CreateInstance<JobHostService>(sp), sp.GetRequiredService<ILogger<BoundedJobHostService>>()));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The JobHost did not stop within the shutdown timeout (storage unreachable?); exiting without it: its partition leases expire on their own")]
    private static partial void LogStopAbandoned(ILogger logger);
}
