using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using SyncFunctions.LocalHost.Catalog;
using SyncFunctions.LocalHost.Durable;

namespace SyncFunctions.LocalHost.Http;

/// <summary>
/// The Function App's HTTP functions on their routes (host.json's route prefix, then the function's
/// route) and methods, called with the request as the worker's ASP.NET Core integration passes it.
/// </summary>
public static class HttpFunctionEndpoints
{
    /// <param name="skip">Functions whose route an endpoint of the host's own answers instead (the in-process SignalR hub's negotiate).</param>
    public static WebApplication MapHttpFunctions(this WebApplication app, FunctionCatalog catalog, Func<HostedFunction, bool>? skip = null)
    {
        var prefix = HostJson.RoutePrefix(app.Configuration).Trim('/');
        foreach (var function in catalog.OfKind(TriggerKind.Http).Where(f => skip?.Invoke(f) != true))
        {
            var pattern = "/" + string.Join('/', new[] { prefix, function.Route!.Trim('/') }.Where(s => s.Length > 0));
            RequestDelegate handler = context => InvokeAsync(function, context);
            var endpoint = function.HttpMethods.Count == 0 ? app.Map(pattern, handler) : app.MapMethods(pattern, function.HttpMethods, handler);
            endpoint.WithDisplayName(function.Name).WithMetadata(function);
        }

        return app;
    }

    private static async Task InvokeAsync(HostedFunction function, HttpContext context)
    {
        var client = await context.RequestServices.GetRequiredService<LocalDurableClient>().GetAsync(context.RequestAborted).ConfigureAwait(false);
        var result = await FunctionInvoker.InvokeAsync(function, new InvocationBindings
        {
            Services = context.RequestServices,
            Trigger = context.Request,
            Client = client,
            Cancellation = context.RequestAborted,
            RouteValues = context.Request.RouteValues,
        }).ConfigureAwait(false);

        switch (result)
        {
            case IActionResult action:
                await action.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor())).ConfigureAwait(false);
                break;
            case IResult httpResult:
                await httpResult.ExecuteAsync(context).ConfigureAwait(false);
                break;
            case null:
                break; // the function wrote the response itself
            default:
                throw new InvalidOperationException($"HTTP function '{function.Name}' returned a {result.GetType().Name}; return an IActionResult.");
        }
    }
}
