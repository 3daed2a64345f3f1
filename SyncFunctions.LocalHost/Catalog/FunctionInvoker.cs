using System.Reflection;
using System.Runtime.ExceptionServices;

namespace SyncFunctions.LocalHost.Catalog;

/// <summary>
/// Calls a function's method as the isolated worker does: an instance method on a class created from
/// the invocation's services (constructor injection), a static method as it is; tasks awaited.
/// </summary>
public static class FunctionInvoker
{
    /// <summary>
    /// Returns the method's result. For an orchestrator this runs inside the orchestration's own
    /// scheduler, so nothing here may leave it: no ConfigureAwait(false).
    /// </summary>
#pragma warning disable CA2007 // Orchestrator code must resume on the orchestration's scheduler.
    public static async Task<object?> InvokeAsync(HostedFunction function, InvocationBindings bindings)
    {
        var method = function.Method;
        var target = method.IsStatic ? null : ActivatorUtilities.CreateInstance(bindings.Services, method.DeclaringType!);
        object? returned;
        try
        {
            returned = method.Invoke(target, ParameterBinding.Bind(function, bindings));
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }

        switch (returned)
        {
            case Task task:
                await task;
                return ResultOf(task);
            case ValueTask valueTask:
                await valueTask;
                return null;
            default:
                if (returned is not null && returned.GetType() is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(ValueTask<>))
                {
                    var asTask = (Task)type.GetMethod(nameof(ValueTask<object>.AsTask))!.Invoke(returned, null)!;
                    await asTask;
                    return ResultOf(asTask);
                }

                return returned;
        }
    }
#pragma warning restore CA2007

    private static object? ResultOf(Task task)
    {
        var type = task.GetType();
        while (type is not null && !(type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Task<>)))
        {
            type = type.BaseType;
        }

        // Task<VoidTaskResult> (an async Task method) carries nothing the caller wants.
        var result = type?.GetProperty(nameof(Task<object>.Result))!.GetValue(task);
        return result?.GetType().Name == "VoidTaskResult" ? null : result;
    }
}
