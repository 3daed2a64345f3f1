using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Azure.Functions.Worker;

namespace SyncFunctions.Dashboard;

/// <summary>
/// The dashboard at <c>/</c>: files from the app's wwwroot (its page, script, styles and the SignalR
/// browser client copied from the npm package at build time). The page itself needs no token; every
/// call it makes does. Only paths that end in a file extension are served, so no function route and
/// none of the Functions host's own routes are shadowed.
/// </summary>
public static class DashboardFunctions
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "wwwroot");
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    [Function("Dashboard")]
    public static Task<IActionResult> PageAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", "head", Route = "{page:maxlength(0)?}")] HttpRequest request) =>
        Api.ApiFunction.AnonymousAsync(request, () => Task.FromResult(Serve(request, "index.html")));

    [Function("DashboardFiles")]
    public static Task<IActionResult> FileAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "head", Route = "{*file:regex(^[\\w.-]+(/[\\w.-]+)*\\.\\w+$)}")] HttpRequest request,
        string file) =>
        Api.ApiFunction.AnonymousAsync(request, () => Task.FromResult(Serve(request, file)));

    private static IResult Serve(HttpRequest request, string relativePath)
    {
        var path = Path.GetFullPath(Path.Combine(Root, relativePath));
        if (!path.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(path))
        {
            return TypedResults.NotFound();
        }

        // The page and its script change with each deployment; revalidate instead of caching stale copies.
        request.HttpContext.Response.Headers.CacheControl = "no-cache";
        request.HttpContext.Response.Headers.XContentTypeOptions = "nosniff";
        var contentType = ContentTypes.TryGetContentType(path, out var known) ? known : "application/octet-stream";
        return TypedResults.PhysicalFile(path, contentType, enableRangeProcessing: false);
    }
}
