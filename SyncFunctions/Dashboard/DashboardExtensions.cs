namespace SyncFunctions.Dashboard;

/// <summary>
/// The dashboard at <c>/</c>: static files from wwwroot (its script, styles and the SignalR browser
/// client copied from the npm package at build time). The page itself needs no token; every call it
/// makes does.
/// </summary>
public static class DashboardExtensions
{
    public static WebApplication UseDashboard(this WebApplication app)
    {
        app.UseDefaultFiles();
        app.UseStaticFiles(new StaticFileOptions
        {
            OnPrepareResponse = context =>
            {
                // The page and its script change with each deployment; revalidate instead of caching stale copies.
                context.Context.Response.Headers.CacheControl = "no-cache";
                context.Context.Response.Headers.XContentTypeOptions = "nosniff";
            },
        });
        return app;
    }
}
