using System.Security.Claims;

namespace SyncFunctions.Security;

/// <summary>
/// The authenticated caller and the tenant a request acts on: the token's <c>tid</c>, or, for the
/// <c>sync.admin</c> role only, the <c>tenant_id</c> query parameter. Bound per request; when the
/// request may not act on any tenant, <see cref="Problem"/> says why and <see cref="TenantScopeFilter"/>
/// answers with it before the handler runs.
/// </summary>
public sealed record Caller(string TenantId, string? Email, bool IsAdmin, bool TenantNamed)
{
    public const string AdminRole = "sync.admin";
    private const string TenantRule = "A tenant id is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.";

    public IResult? Problem { get; private init; }

    public static ValueTask<Caller?> BindAsync(HttpContext context) => ValueTask.FromResult<Caller?>(Resolve(context));

    public static Caller Resolve(HttpContext context)
    {
        var user = context.User;
        var tokenTenant = user.FindFirst("tid")?.Value;
        if (!InputRules.IsValidTenantId(tokenTenant))
        {
            return Refused(TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: "The token carries no valid tenant (tid claim)."));
        }

        var isAdmin = IsAdminPrincipal(user);
        var email = user.FindFirst("email")?.Value;
        if (!context.Request.Query.TryGetValue("tenant_id", out var requested))
        {
            return new Caller(tokenTenant!, email, isAdmin, TenantNamed: false);
        }

        var value = requested.ToString();
        if (!InputRules.IsValidTenantId(value))
        {
            return Refused(TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["tenant_id"] = [TenantRule] }));
        }

        if (value != tokenTenant && !isAdmin)
        {
            return Refused(TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: $"Only the {AdminRole} role may act on another tenant."));
        }

        return new Caller(value, email, isAdmin, TenantNamed: true);
    }

    private static Caller Refused(IResult problem) => new("", null, false, false) { Problem = problem };

    private static bool IsAdminPrincipal(ClaimsPrincipal user) => user.FindAll("roles").Any(c => c.Value == AdminRole);
}
