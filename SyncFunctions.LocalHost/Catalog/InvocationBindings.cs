using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace SyncFunctions.LocalHost.Catalog;

/// <summary>What one invocation can bind a function's parameters to, as the isolated worker binds them.</summary>
public sealed class InvocationBindings
{
    public required IServiceProvider Services { get; init; }

    public object? Trigger { get; init; }

    public DurableTaskClient? Client { get; init; }

    public CancellationToken Cancellation { get; init; }

    /// <summary>HTTP route values: a plain parameter named like one is bound to it, as the worker binds binding data.</summary>
    public RouteValueDictionary? RouteValues { get; init; }

    /// <summary>An orchestration's input: bound to its first parameter that is neither a binding nor a cancellation token.</summary>
    public object? OrchestrationInput { get; init; }
}

/// <summary>
/// Binds and checks a function's parameters (by position: reflection may hand out distinct
/// ParameterInfo objects for one parameter when threads first ask at once). Every rule here is one the isolated worker applies; a
/// parameter the local host cannot bind fails the start, naming the function, not its first call.
/// </summary>
public static class ParameterBinding
{
    public static void Validate(HostedFunction function)
    {
        foreach (var parameter in function.Method.GetParameters())
        {
            if (parameter.Position == function.TriggerParameter.Position || parameter.ParameterType == typeof(CancellationToken))
            {
                continue;
            }

            var fine = parameter.GetCustomAttribute<DurableClientAttribute>() is not null
                ? parameter.ParameterType.IsAssignableFrom(typeof(DurableTaskClient)) && function.Trigger is not (TriggerKind.Orchestration or TriggerKind.Entity)
                : function.Trigger switch
                {
                    TriggerKind.Http => Microsoft.AspNetCore.Routing.Patterns.RoutePatternFactory.Parse(function.Route!).Parameters
                        .Any(p => string.Equals(p.Name, parameter.Name, StringComparison.OrdinalIgnoreCase)),
                    TriggerKind.Orchestration => parameter.Position == OrchestrationInputParameter(function)?.Position,
                    _ => false,
                };
            if (!fine)
            {
                throw new InvalidOperationException(
                    $"Function '{function.Name}': the local host cannot bind parameter '{parameter.Name}' ({parameter.ParameterType.Name}). " +
                    "It binds the trigger, [DurableClient] DurableTaskClient (not in orchestrators or entities), CancellationToken, HTTP route values by name and an orchestration's input.");
            }
        }
    }

    /// <summary>The worker's rule (OrchestrationInputConverter): the first parameter that is no binding and no cancellation token.</summary>
    public static ParameterInfo? OrchestrationInputParameter(HostedFunction function) =>
        function.Method.GetParameters().FirstOrDefault(p => p.Position != function.TriggerParameter.Position
            && p.ParameterType != typeof(CancellationToken)
            && p.GetCustomAttribute<DurableClientAttribute>() is null);

    public static object?[] Bind(HostedFunction function, InvocationBindings bindings)
    {
        var parameters = function.Method.GetParameters();
        var values = new object?[parameters.Length];
        for (var i = 0; i < parameters.Length; i++)
        {
            var parameter = parameters[i];
            values[i] = parameter.Position == function.TriggerParameter.Position ? bindings.Trigger
                : parameter.ParameterType == typeof(CancellationToken) ? bindings.Cancellation
                : parameter.GetCustomAttribute<DurableClientAttribute>() is not null ? bindings.Client
                : function.Trigger == TriggerKind.Orchestration ? bindings.OrchestrationInput
                : RouteValue(bindings.RouteValues, parameter);
        }

        return values;
    }

    private static object? RouteValue(RouteValueDictionary? routeValues, ParameterInfo parameter)
    {
        if (routeValues is null || !routeValues.TryGetValue(parameter.Name!, out var value) || value is null)
        {
            return parameter.HasDefaultValue ? parameter.DefaultValue : null;
        }

        var target = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
        return target == typeof(string) ? value.ToString() : Convert.ChangeType(value, target, System.Globalization.CultureInfo.InvariantCulture);
    }
}
