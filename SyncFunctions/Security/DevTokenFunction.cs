using System.Net;
using Microsoft.AspNetCore.Http.HttpResults;

using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace SyncFunctions.Security;

[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record DevTokenRequest(string? TenantId, string? Email, IReadOnlyList<string>? Roles);

public sealed record DevTokenResponse(string AccessToken, string TokenType, int ExpiresIn);

/// <summary>
/// <c>POST /api/dev/token</c>: answering only in the Development environment with no real issuer, and answering only
/// callers on this machine, so the run command, the dashboard and tests can get a token.
/// </summary>
public sealed class DevTokenFunction(DevTokenIssuer issuer, IOptions<AuthOptions> auth)
{
    [Function("IssueDevToken")]
    public Task<IActionResult> RunAsync([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/dev/token")] HttpRequest request) =>
        Api.ApiFunction.AnonymousAsync(request, async () =>
        {
            if (!auth.Value.DevTokensEnabled)
            {
                return NotHere;
            }

            var (body, problem) = await Api.ApiFunction.ReadJsonAsync<DevTokenRequest>(request).ConfigureAwait(false);
            return problem ?? Issue(body, request.HttpContext, issuer).Result;
        });

    /// <summary>As any unknown API route answers: nothing tells a remote caller that the route exists elsewhere.</summary>
    private static ProblemHttpResult NotHere { get; } =
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "No API route matches this path and method.");

    private static Results<Ok<DevTokenResponse>, ValidationProblem, ProblemHttpResult> Issue(DevTokenRequest? request, HttpContext context, DevTokenIssuer issuer)
    {
        var remote = context.Connection.RemoteIpAddress;
        // A local proxy makes every caller look like loopback; either forwarding header gives it away.
        if (remote is null || !IPAddress.IsLoopback(remote)
            || context.Request.Headers.ContainsKey("X-Forwarded-For") || context.Request.Headers.ContainsKey("Forwarded"))
        {
            return NotHere;
        }

        var errors = new Dictionary<string, string[]>();
        if (!InputRules.IsValidTenantId(request?.TenantId))
        {
            errors["tenant_id"] = ["A tenant id is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit."];
        }

        if (request?.Email is { } email && (email.Length > 254 || !email.Contains('@', StringComparison.Ordinal) || email.Any(char.IsControl)))
        {
            errors["email"] = ["Not an e-mail address."];
        }

        for (var i = 0; i < (request?.Roles?.Count ?? 0); i++)
        {
            if (request!.Roles![i] is not { Length: > 0 and <= 64 } role || role.Any(char.IsControl))
            {
                errors[$"roles[{i}]"] = ["A role is a non-empty name of at most 64 characters."];
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var token = issuer.Issue(request!.TenantId!, request.Email, request.Roles ?? []);
        return TypedResults.Ok(new DevTokenResponse(token, "Bearer", (int)DevTokenIssuer.Lifetime.TotalSeconds));
    }
}
