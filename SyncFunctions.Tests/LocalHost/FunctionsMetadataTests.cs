using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using Microsoft.Azure.WebJobs;
using SyncFunctions.LocalHost;
using SyncFunctions.LocalHost.Catalog;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.LocalHost;

/// <summary>
/// The two hosts cannot drift: the local host serves exactly the functions the Worker SDK wrote to the
/// build's functions.metadata (what the Functions host serves in Azure), with the same triggers,
/// routes, methods and schedules, on the Durable extension version the SDK's generated project restores.
/// </summary>
public sealed class FunctionsMetadataTests : IAsyncLifetime
{
    private SyncApp _host = null!;

    public async Task InitializeAsync() => _host = await SyncApp.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public void Catalog_OfTheFunctionApp_MatchesFunctionsMetadataFunctionByFunction()
    {
        var metadata = ReadMetadata();
        var catalog = _host.Services.GetRequiredService<FunctionCatalog>();

        Assert.Equal(metadata.Keys.Order(StringComparer.Ordinal), catalog.Functions.Select(f => f.Name).Order(StringComparer.Ordinal));
        foreach (var function in catalog.Functions)
        {
            var bindings = metadata[function.Name];
            var trigger = bindings.Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));
            Assert.Equal(ExpectedTriggerType(function.Trigger), trigger.GetProperty("type").GetString());
            Assert.Equal(
                bindings.Any(b => b.GetProperty("type").GetString() == "durableClient"),
                function.Method.GetParameters().Any(p => p.GetCustomAttribute<Microsoft.Azure.Functions.Worker.DurableClientAttribute>() is not null));
            if (function.Trigger == TriggerKind.Http)
            {
                Assert.Equal(trigger.GetProperty("route").GetString(), function.Route);
                Assert.Equal(
                    trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToLowerInvariant()).Order(StringComparer.Ordinal),
                    function.HttpMethods.Order(StringComparer.Ordinal));
            }

            if (function.Trigger == TriggerKind.Timer)
            {
                Assert.Equal(trigger.GetProperty("schedule").GetString(), function.Schedule);
            }
        }
    }

    [Fact]
    public void RunningHost_RegistersEveryDurableFunctionWithTheExtension_AndEveryHttpFunctionOnItsRoute()
    {
        var catalog = _host.Services.GetRequiredService<FunctionCatalog>();
        var shims = _host.Services.GetRequiredService<ITypeLocator>().GetTypes().Single();
        var registered = shims.GetMethods().Select(m => m.GetCustomAttribute<FunctionNameAttribute>()?.Name).OfType<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var function in catalog.Functions.Where(f => f.Trigger is TriggerKind.Orchestration or TriggerKind.Entity or TriggerKind.Activity))
        {
            Assert.Contains(function.Name, registered);
        }

        // The in-process SignalR hub answers /api/negotiate in place of the negotiate function (the one endpoint
        // of the local host's own); every other HTTP function is served on its route.
        var endpoints = _host.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints;
        var served = endpoints.Select(e => e.Metadata.GetMetadata<HostedFunction>()).OfType<HostedFunction>().Select(f => f.Name);
        Assert.Equal(
            catalog.OfKind(TriggerKind.Http).Select(f => f.Name).Where(n => n != SyncFunctions.Realtime.NegotiateFunction.Name).Order(StringComparer.Ordinal),
            served.Order(StringComparer.Ordinal));
        Assert.Contains(endpoints.OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>(), e => e.RoutePattern.RawText == "/api/negotiate");
    }

    [Fact]
    public void DurableExtension_OfTheLocalHost_IsTheVersionTheWorkerSdkRestores()
    {
        var restored = Path.Combine(BuildOutput(), ".azurefunctions", "Microsoft.Azure.WebJobs.Extensions.DurableTask.dll");
        Assert.True(File.Exists(restored), $"{restored} is missing: the Worker SDK did not bring the Durable extension.");
        var ours = typeof(Microsoft.Azure.WebJobs.Extensions.DurableTask.DurableTaskExtension).Assembly.Location;
        Assert.Equal(FileVersionInfo.GetVersionInfo(restored).FileVersion, FileVersionInfo.GetVersionInfo(ours).FileVersion);
    }

    private static string ExpectedTriggerType(TriggerKind kind) => kind switch
    {
        TriggerKind.Http => "httpTrigger",
        TriggerKind.Orchestration => "orchestrationTrigger",
        TriggerKind.Entity => "entityTrigger",
        TriggerKind.Activity => "activityTrigger",
        _ => "timerTrigger",
    };

    private static Dictionary<string, List<JsonElement>> ReadMetadata()
    {
        var path = Path.Combine(BuildOutput(), "functions.metadata");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.EnumerateArray().ToDictionary(
            f => f.GetProperty("name").GetString()!,
            f => f.GetProperty("bindings").EnumerateArray().Select(b => b.Clone()).ToList(),
            StringComparer.Ordinal);
    }

    /// <summary>The Function App's own build output, of the configuration these tests were built in.</summary>
    private static string BuildOutput()
    {
        var configuration = typeof(FunctionsMetadataTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        return Path.Combine(RepoRoot.Find(), "SyncFunctions", "bin", configuration, "net10.0");
    }
}
