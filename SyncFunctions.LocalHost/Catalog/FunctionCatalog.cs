using System.Reflection;
using Microsoft.Azure.Functions.Worker;

namespace SyncFunctions.LocalHost.Catalog;

public enum TriggerKind
{
    Http,
    Orchestration,
    Entity,
    Activity,
    Timer,
}

/// <summary>
/// One <c>[Function]</c> of the Function App, as the local host serves it: the same name, trigger,
/// route, methods and schedule the Worker SDK writes to functions.metadata for the Functions host.
/// </summary>
public sealed record HostedFunction(string Name, TriggerKind Trigger, MethodInfo Method, ParameterInfo TriggerParameter)
{
    /// <summary>The HTTP route as declared (without the host's route prefix); null for other triggers.</summary>
    public string? Route { get; init; }

    /// <summary>Lower-case HTTP methods; empty when the function takes every method.</summary>
    public IReadOnlyList<string> HttpMethods { get; init; } = [];

    /// <summary>The timer's schedule as declared (it may name a setting: <c>%NAME%</c>).</summary>
    public string? Schedule { get; init; }

    public bool RunOnStartup { get; init; }
}

/// <summary>
/// The functions of a Function App assembly, read from their <c>[Function]</c> attributes the way the
/// Worker SDK reads them, so the local host serves exactly what the Functions host would.
/// </summary>
public sealed class FunctionCatalog
{
    private FunctionCatalog(IReadOnlyList<HostedFunction> functions) => Functions = functions;

    public IReadOnlyList<HostedFunction> Functions { get; }

    public IEnumerable<HostedFunction> OfKind(TriggerKind kind) => Functions.Where(f => f.Trigger == kind);

    public HostedFunction Get(string name) =>
        Functions.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new InvalidOperationException($"The Function App has no function named '{name}'.");

    public static FunctionCatalog Load(Assembly assembly)
    {
        var functions = new List<HostedFunction>();
        foreach (var type in assembly.GetExportedTypes())
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                if (method.GetCustomAttribute<FunctionAttribute>() is { } function)
                {
                    functions.Add(Describe(function.Name, method));
                }
            }
        }

        var duplicate = functions.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two functions are named '{duplicate.Key}'.");
        }

        return new FunctionCatalog([.. functions.OrderBy(f => f.Name, StringComparer.Ordinal)]);
    }

    private static HostedFunction Describe(string name, MethodInfo method)
    {
        foreach (var parameter in method.GetParameters())
        {
            switch (parameter.GetCustomAttributes().FirstOrDefault(IsTrigger))
            {
                case HttpTriggerAttribute http:
                    return new HostedFunction(name, TriggerKind.Http, method, parameter)
                    {
                        Route = http.Route ?? name,
                        HttpMethods = [.. (http.Methods ?? []).Select(m => m.ToLowerInvariant())],
                    };
                case OrchestrationTriggerAttribute:
                    return new HostedFunction(name, TriggerKind.Orchestration, method, parameter);
                case EntityTriggerAttribute:
                    return new HostedFunction(name, TriggerKind.Entity, method, parameter);
                case ActivityTriggerAttribute:
                    return new HostedFunction(name, TriggerKind.Activity, method, parameter);
                case TimerTriggerAttribute timer:
                    return new HostedFunction(name, TriggerKind.Timer, method, parameter) { Schedule = timer.Schedule, RunOnStartup = timer.RunOnStartup };
            }
        }

        throw new InvalidOperationException(
            $"Function '{name}' ({method.DeclaringType?.Name}.{method.Name}) has a trigger the local host does not serve; it serves HTTP, orchestration, entity, activity and timer triggers.");
    }

    private static bool IsTrigger(Attribute attribute) => attribute is HttpTriggerAttribute or OrchestrationTriggerAttribute
        or EntityTriggerAttribute or ActivityTriggerAttribute or TimerTriggerAttribute;
}
