using System.Net;
using Microsoft.AspNetCore.Http.HttpResults;

using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace SyncFunctions.Security;

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
                return TypedResults.NotFound();
            }

            var (body, problem) = await Api.ApiFunction.ReadJsonAsync<DevTokenRequest>(request).ConfigureAwait(false);
            return problem ?? Issue(body, request.HttpContext, issuer).Result;
        });

    private static Results<Ok<DevTokenResponse>, ValidationProblem, NotFound> Issue(DevTokenRequest? request, HttpContext context, DevTokenIssuer issuer)
    {
        var remote = context.Connection.RemoteIpAddress;
        // A local proxy makes every caller look like loopback; either forwarding header gives it away.
        if (remote is null || !IPAddress.IsLoopback(remote)
            || context.Request.Headers.ContainsKey("X-Forwarded-For") || context.Request.Headers.ContainsKey("Forwarded"))
        {
            return TypedResults.NotFound();
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

        if (request?.Roles is { } roles && roles.Any(r => r is null || r.Length is 0 or > 64 || r.Any(char.IsControl)))
        {
            errors["roles"] = ["Roles are non-empty names of at most 64 characters."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var token = issuer.Issue(request!.TenantId!, request.Email, request.Roles ?? []);
        return TypedResults.Ok(new DevTokenResponse(token, "Bearer", (int)DevTokenIssuer.Lifetime.TotalSeconds));
    }
}
