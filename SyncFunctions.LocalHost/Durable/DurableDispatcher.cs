using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Grpc;
using Newtonsoft.Json.Linq;
using SyncFunctions.LocalHost.Catalog;

namespace SyncFunctions.LocalHost.Durable;

/// <summary>
/// Runs the Function App's orchestrators, entities and activities for the Durable extension in its
/// isolated protocol, the way the worker's Durable middleware does: an orchestrator request through
/// <see cref="GrpcOrchestrationRunner"/>, an entity batch through the app's own entity function (given a
/// <see cref="TaskEntityDispatcher"/>), an activity's JSON input deserialized with the app's converter.
/// </summary>
public sealed class DurableDispatcher(FunctionCatalog catalog, IServiceProvider services, DataConverter converter, LocalDurableClient client, IHostApplicationLifetime lifetime)
{
    public LocalDurableClient Client => client;

    public string RunOrchestrator(string name, string request) =>
        GrpcOrchestrationRunner.LoadAndRun(request, new FunctionOrchestrator(catalog.Get(name), services), services);

    public async Task<string> RunEntityAsync(string name, string request)
    {
        var function = catalog.Get(name);
        await using var scope = services.CreateAsyncScope();
        var dispatcher = EntityDispatchers.Create(request, scope.ServiceProvider);
        await FunctionInvoker.InvokeAsync(function, new InvocationBindings { Services = scope.ServiceProvider, Trigger = dispatcher }).ConfigureAwait(false);
        return EntityDispatchers.ResultOf(dispatcher);
    }

    public async Task<object?> RunActivityAsync(string name, string? input)
    {
        var function = catalog.Get(name);
        await using var scope = services.CreateAsyncScope();
        var trigger = input is null ? null : converter.Deserialize(input, function.TriggerParameter.ParameterType);
        var output = await FunctionInvoker.InvokeAsync(function, new InvocationBindings
        {
            Services = scope.ServiceProvider,
            Trigger = trigger,
            Client = function.Method.GetParameters().Any(p => p.GetCustomAttribute<DurableClientAttribute>() is not null)
                ? await client.GetAsync(lifetime.ApplicationStopping).ConfigureAwait(false)
                : null,
            Cancellation = lifetime.ApplicationStopping,
        }).ConfigureAwait(false);

        // The extension stores what the function returns as JSON; a JToken keeps the app's own JSON as it is.
        return converter.Serialize(output) is { } json ? JToken.Parse(json) : null;
    }
}

/// <summary>
/// <see cref="TaskEntityDispatcher"/> has no public constructor: the worker's middleware builds it from
/// the entity batch (and, since 1.21, an optional extended-sessions cache) and reads its result
/// afterwards. The local host does the same through those internal members; the Durable contract
/// test fails loudly if an upgrade changes them.
/// </summary>
public static class EntityDispatchers
{
    private static readonly ConstructorInfo? Constructor = typeof(TaskEntityDispatcher)
        .GetConstructors(BindingFlags.Instance | BindingFlags.NonPublic)
        .FirstOrDefault(c => c.GetParameters() is [{ ParameterType: var request }, { ParameterType: var services }, ..] rest
            && request == typeof(string) && services == typeof(IServiceProvider) && rest.Skip(2).All(p => !p.ParameterType.IsValueType));

    private static readonly PropertyInfo? Result = typeof(TaskEntityDispatcher).GetProperty("Result", BindingFlags.Instance | BindingFlags.NonPublic);

    public static bool Available => Constructor is not null && Result?.PropertyType == typeof(string);

    /// <summary>Any further constructor argument (the extended-sessions cache) comes from the services, or is left out as the worker does without one.</summary>
    public static TaskEntityDispatcher Create(string request, IServiceProvider services)
    {
        var constructor = Constructor ?? throw Missing();
        var arguments = constructor.GetParameters().Skip(2).Select(p => services.GetService(p.ParameterType));
        return (TaskEntityDispatcher)constructor.Invoke([request, services, .. arguments]);
    }

    public static string ResultOf(TaskEntityDispatcher dispatcher) => (string)(Result ?? throw Missing()).GetValue(dispatcher)!;

    private static InvalidOperationException Missing() => new(
        $"{typeof(TaskEntityDispatcher).Assembly.GetName()} no longer has TaskEntityDispatcher(string, IServiceProvider) and its Result: the local host cannot run entities with this version.");
}

/// <summary>A function-based orchestrator as the worker's FunctionsOrchestrator presents it to the runner.</summary>
internal sealed class FunctionOrchestrator(HostedFunction function, IServiceProvider services) : ITaskOrchestrator
{
    public Type InputType => ParameterBinding.OrchestrationInputParameter(function)?.ParameterType ?? typeof(object);

    public Type OutputType => typeof(object);

    public Task<object?> RunAsync(TaskOrchestrationContext context, object? input) =>
        FunctionInvoker.InvokeAsync(function, new InvocationBindings { Services = services, Trigger = context, OrchestrationInput = input });
}
