using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using SyncFunctions.Progress;
using SyncFunctions.Security;

namespace SyncFunctions.Realtime;

public sealed record NegotiateRedirect(string Url, string AccessToken);

/// <summary>
/// With Azure SignalR Service, <c>POST /api/negotiate</c> redirects the standard client to the service.
/// Each negotiation gets its own user id, put in exactly one group of the caller's own tenant (the
/// tenant's, or one sync's with <c>?sync_id=</c>), so no client ever hears another tenant.
/// </summary>
public static class NegotiateEndpoints
{
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(1);

    public static IEndpointRouteBuilder MapServiceNegotiate(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/negotiate", NegotiateAsync)
            .WithName("NegotiateLiveProgress")
            .WithSummary("Redirect the SignalR client to Azure SignalR Service, in a group of the caller's tenant")
            .RequireAuthorization().AddEndpointFilter<TenantScopeFilter>().WithTags("Live progress");
        return app;
    }

    private static async Task<Results<Ok<NegotiateRedirect>, ValidationProblem>> NegotiateAsync(
        Caller caller, SignalRServiceClient service, CancellationToken cancellationToken, string? sync_id = null)
    {
        if (sync_id is not null && !SyncId.IsValid(sync_id))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["sync_id"] = ["Not a sync id."] });
        }

        var userId = $"{caller.TenantId}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";
        var group = sync_id is null ? ProgressGroups.Tenant(caller.TenantId) : ProgressGroups.Sync(caller.TenantId, sync_id);
        await service.AddUserToGroupAsync(group, userId, TokenLifetime, cancellationToken).ConfigureAwait(false);
        var token = await service.GenerateClientTokenAsync(userId, TokenLifetime, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new NegotiateRedirect(service.ClientUrl, token));
    }
}
