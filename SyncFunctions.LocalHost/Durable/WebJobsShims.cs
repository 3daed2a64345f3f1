using System.Reflection;
using System.Reflection.Emit;
using Microsoft.Azure.WebJobs;
using Microsoft.Azure.WebJobs.Host;
using SyncFunctions.LocalHost.Catalog;
using WebJobsActivityTrigger = Microsoft.Azure.WebJobs.Extensions.DurableTask.ActivityTriggerAttribute;
using WebJobsDurableClient = Microsoft.Azure.WebJobs.Extensions.DurableTask.DurableClientAttribute;
using WebJobsEntityTrigger = Microsoft.Azure.WebJobs.Extensions.DurableTask.EntityTriggerAttribute;
using WebJobsOrchestrationTrigger = Microsoft.Azure.WebJobs.Extensions.DurableTask.OrchestrationTriggerAttribute;

namespace SyncFunctions.LocalHost.Durable;

/// <summary>
/// The base of the WebJobs functions the local host generates: one per orchestrator, entity and
/// activity of the Function App, each a single call back into the <see cref="DurableDispatcher"/>.
/// The WebJobs SDK indexes functions from attributed methods, and the Durable extension finds
/// orchestrators, entities and activities by those functions' names, so the names must exist as
/// methods; generating them from the catalog (as the Functions host generates its own from
/// functions.metadata) means no function is written twice.
/// </summary>
public abstract class WebJobsShim
{
    internal DurableDispatcher Dispatcher { get; set; } = null!;

    protected internal string RunOrchestrator(string name, string request) => Dispatcher.RunOrchestrator(name, request);

    protected internal Task<string> RunEntityAsync(string name, string request) => Dispatcher.RunEntityAsync(name, request);

    protected internal Task<object?> RunActivityAsync(string name, string input) => Dispatcher.RunActivityAsync(name, input);

    protected internal void ReceiveClientPayload(string payload) => Dispatcher.Client.Connect(payload);
}

internal static class WebJobsShimEmitter
{
    /// <summary>The one function the host itself adds: it is called once at start to learn the extension's client address.</summary>
    public const string ClientPayloadFunction = "LocalHost-DurableClientPayload";

    public static Type Emit(FunctionCatalog catalog)
    {
        var assembly = AssemblyBuilder.DefineDynamicAssembly(new AssemblyName("SyncFunctions.LocalHost.WebJobsShims"), AssemblyBuilderAccess.Run);
        var type = assembly.DefineDynamicModule("WebJobsShims")
            .DefineType("SyncFunctions.LocalHost.WebJobsShims.Functions", TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.Class, typeof(WebJobsShim));
        type.DefineDefaultConstructor(MethodAttributes.Public);

        foreach (var function in catalog.Functions)
        {
            switch (function.Trigger)
            {
                case TriggerKind.Orchestration:
                    Define(type, function.Name, typeof(string), Trigger<WebJobsOrchestrationTrigger>(nameof(WebJobsOrchestrationTrigger.Orchestration), function.Name), nameof(WebJobsShim.RunOrchestrator));
                    break;
                case TriggerKind.Entity:
                    Define(type, function.Name, typeof(Task<string>), Trigger<WebJobsEntityTrigger>(nameof(WebJobsEntityTrigger.EntityName), function.Name), nameof(WebJobsShim.RunEntityAsync));
                    break;
                case TriggerKind.Activity:
                    Define(type, function.Name, typeof(Task<object>), Trigger<WebJobsActivityTrigger>(nameof(WebJobsActivityTrigger.Activity), function.Name), nameof(WebJobsShim.RunActivityAsync));
                    break;
            }
        }

        DefineClientPayload(type);
        return type.CreateType();
    }

    private static CustomAttributeBuilder Trigger<TAttribute>(string nameProperty, string name)
        where TAttribute : Attribute =>
        new(typeof(TAttribute).GetConstructor(Type.EmptyTypes)!, [], [typeof(TAttribute).GetProperty(nameProperty)!], [name]);

    private static void Define(TypeBuilder type, string name, Type returns, CustomAttributeBuilder trigger, string target)
    {
        var method = type.DefineMethod(MethodName(name), MethodAttributes.Public, returns, [typeof(string)]);
        method.SetCustomAttribute(new CustomAttributeBuilder(typeof(FunctionNameAttribute).GetConstructor([typeof(string)])!, [name]));
        method.DefineParameter(1, ParameterAttributes.None, "request").SetCustomAttribute(trigger);
        var il = method.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldstr, name);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Call, typeof(WebJobsShim).GetMethod(target, BindingFlags.Instance | BindingFlags.NonPublic)!);
        il.Emit(OpCodes.Ret);
    }

    private static void DefineClientPayload(TypeBuilder type)
    {
        var method = type.DefineMethod("DurableClientPayload", MethodAttributes.Public, typeof(void), [typeof(string)]);
        method.SetCustomAttribute(new CustomAttributeBuilder(typeof(FunctionNameAttribute).GetConstructor([typeof(string)])!, [ClientPayloadFunction]));
        method.SetCustomAttribute(new CustomAttributeBuilder(typeof(NoAutomaticTriggerAttribute).GetConstructor(Type.EmptyTypes)!, []));
        method.DefineParameter(1, ParameterAttributes.None, "payload")
            .SetCustomAttribute(new CustomAttributeBuilder(typeof(WebJobsDurableClient).GetConstructor(Type.EmptyTypes)!, []));
        var il = method.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Call, typeof(WebJobsShim).GetMethod(nameof(WebJobsShim.ReceiveClientPayload), BindingFlags.Instance | BindingFlags.NonPublic)!);
        il.Emit(OpCodes.Ret);
    }

    private static string MethodName(string functionName) =>
        new([.. functionName.Select(c => char.IsLetterOrDigit(c) ? c : '_')]);
}

/// <summary>Gives WebJobs only the generated functions to index.</summary>
internal sealed class ShimTypeLocator(Type shims) : ITypeLocator
{
    public IReadOnlyList<Type> GetTypes() => [shims];
}

/// <summary>Creates the generated function class with its dispatcher, as the Functions host creates function instances.</summary>
internal sealed class ShimActivator(DurableDispatcher dispatcher) : IJobActivator
{
    public T CreateInstance<T>()
    {
        var instance = Activator.CreateInstance<T>();
        if (instance is WebJobsShim shim)
        {
            shim.Dispatcher = dispatcher;
        }

        return instance;
    }
}
