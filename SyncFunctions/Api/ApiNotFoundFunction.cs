using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace SyncFunctions.Api;

/// <summary>
/// Any other path under /api: a 404 in problem details, as from every API route, instead of the host's
/// empty one. It is the least specific route, so every function's own route wins over it.
/// </summary>
public static class ApiNotFoundFunction
{
    [Function("ApiNotFound")]
    public static Task<IActionResult> RunAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "head", "post", "put", "patch", "delete", Route = "api/{*path}")] HttpRequest request) =>
        ApiFunction.AnonymousAsync(request, () => Task.FromResult<IResult>(TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "No API route matches this path and method.")));
}
