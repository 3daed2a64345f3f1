using Azure.Core.Serialization;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.WebJobs;
using Microsoft.Azure.WebJobs.Extensions.DurableTask;
using Microsoft.Azure.WebJobs.Host;
using Microsoft.Azure.WebJobs.Host.Config;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SyncFunctions.LocalHost.Catalog;

namespace SyncFunctions.LocalHost.Durable;

/// <summary>The real Durable Functions extension on the WebJobs SDK, in its isolated-worker protocol (DESIGN, "Two hosts").</summary>
public static class DurableExtensionSetup
{
    public static WebApplicationBuilder AddDurableExtension(this WebApplicationBuilder builder, FunctionCatalog catalog)
    {
        // The extension speaks its isolated protocol (entity queue, local gRPC endpoint) only for this runtime.
        // It takes a CONTAINER_NAME variable (some CI sandboxes set one) for a Linux Consumption container and
        // then echoes every event to the console; this host is never one.
        // The backend's worker id names the owner of each control-queue partition. By default it is the
        // machine name, which every local host on one machine shares: two of them would both own every
        // partition and process one entity's operations at once (two syncs of a tenant, seen by the
        // benchmark's racing triggers). The extension takes a unique id from these two settings.
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated",
            ["CONTAINER_NAME"] = "",
            ["WEBSITE_CURRENT_STAMPNAME"] = "localhost",
            ["RoleInstanceId"] = $"{Environment.MachineName}-{Environment.ProcessId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}",
        });
        builder.Host.ConfigureWebJobs(webJobs =>
        {
            webJobs.AddAzureStorageCoreServices();
            webJobs.AddDurableTask();
        });

        var services = builder.Services;
        BoundedJobHostService.ReplaceIn(services);
        services.Replace(ServiceDescriptor.Singleton<ITypeLocator>(new ShimTypeLocator(WebJobsShimEmitter.Emit(catalog))));
        services.Replace(ServiceDescriptor.Singleton<IJobActivator, ShimActivator>());
#pragma warning disable CS0618 // The Functions host registers one; the extension cannot build the client payload without it.
        services.TryAddSingleton<IWebHookProvider, LocalWebHookProvider>();
#pragma warning restore CS0618
        services.AddSingleton<DataConverter>(sp => new ObjectSerializerConverter(AppSerializer(sp)));
        services.AddSingleton(sp => new DurableTaskShimFactory(
            new DurableTaskWorkerOptions { EnableEntitySupport = true, DataConverter = sp.GetRequiredService<DataConverter>() },
            sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<LocalDurableClient>();
        services.AddSingleton<DurableDispatcher>();
        services.AddHostedService<DurableClientConnector>(); // after the JobHost's own hosted service, so it starts once the host has
        return builder;
    }

    private static ObjectSerializer AppSerializer(IServiceProvider services) =>
        services.GetService<IOptions<WorkerOptions>>()?.Value.Serializer ?? new JsonObjectSerializer();

    /// <summary>The Functions host has one; the extension needs it to build the client binding's payload (its HTTP management URLs).</summary>
#pragma warning disable CS0618 // See above: obsolete only as "not ready for public consumption".
    private sealed class LocalWebHookProvider(IConfiguration configuration) : IWebHookProvider
#pragma warning restore CS0618
    {
        public Uri GetUrl(IExtensionConfigProvider extension) =>
            new(new Uri(configuration["urls"]?.Split(';')[0] ?? "http://localhost"), "/runtime/webhooks/durabletask");
    }

    /// <summary>Learns the extension's client address once the JobHost has started, through the one function the host adds.</summary>
    private sealed class DurableClientConnector(IJobHost host) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) =>
            host.CallAsync(WebJobsShimEmitter.ClientPayloadFunction, arguments: null, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
