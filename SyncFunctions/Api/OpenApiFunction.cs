using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace SyncFunctions.Api;

/// <summary>
/// The HTTP contract as an OpenAPI document at <c>/openapi/v1.json</c>, kept beside the functions it
/// describes (Api/openapi.json, embedded); a test checks that it names every HTTP function's route.
/// </summary>
public static class OpenApiFunction
{
    private static readonly Lazy<string> Document = new(() =>
    {
        using var stream = typeof(OpenApiFunction).Assembly.GetManifestResourceStream("SyncFunctions.Api.openapi.json")
            ?? throw new InvalidOperationException("The OpenAPI document is not embedded in the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    [Function("OpenApiDocument")]
    public static Task<IActionResult> RunAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi/v1.json")] HttpRequest request) =>
        ApiFunction.AnonymousAsync(request, () => Task.FromResult<IResult>(TypedResults.Text(Document.Value, "application/json")));
}
