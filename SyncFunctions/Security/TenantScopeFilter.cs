namespace SyncFunctions.Security;

/// <summary>
/// Refuses a request whose <see cref="Caller"/> may not act on any tenant (no valid tid, another
/// tenant named without the admin role, a malformed tenant_id) before its handler runs, so a handler
/// only ever sees a caller scoped to one valid tenant.
/// </summary>
public sealed class TenantScopeFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var caller = context.Arguments.OfType<Caller>().FirstOrDefault() ?? Caller.Resolve(context.HttpContext);
        if (caller.Problem is { } problem)
        {
            return problem;
        }

        return await next(context).ConfigureAwait(false);
    }
}
