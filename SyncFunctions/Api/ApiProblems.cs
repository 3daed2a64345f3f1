using SyncFunctions.Progress;

namespace SyncFunctions.Api;

/// <summary>The problem details the API answers with, worded once.</summary>
public static class ApiProblems
{
    public static IReadOnlyDictionary<string, string[]> InvalidSyncId { get; } = new Dictionary<string, string[]>
    {
        ["sync_id"] = [$"A sync id is {SyncId.Length} characters of Crockford base32 (as returned by POST /api/v1/sync)."],
    };

    public static IReadOnlyDictionary<string, string[]> InvalidConnectorName { get; } = new Dictionary<string, string[]>
    {
        ["connector"] = ["A connector name is 1 to 32 lowercase letters, digits, '_' or '-', starting with a letter."],
    };

    /// <summary>A request without a valid bearer token (the caller sets <c>WWW-Authenticate</c>).</summary>
    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Unauthorized { get; } =
        TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: "A bearer token of the configured issuer is required.");

    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult SyncNotFound(string syncId) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Sync not found", detail: $"This tenant has no sync '{syncId}'.");

    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Unavailable(string message) =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Storage unavailable", detail: message);
}
