using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using SyncFunctions.Progress;
using SyncFunctions.Security;

namespace SyncFunctions.Realtime;

public sealed record NegotiateRedirect(string Url, string AccessToken);

/// <summary>
/// With Azure SignalR Service, <c>POST /api/negotiate</c> redirects the standard client to the service.
/// Each negotiation gets its own user id, put in exactly one group of the caller's own tenant (the
/// tenant's, or one sync's with <c>?sync_id=</c>), so no client ever hears another tenant.
/// </summary>
public sealed class NegotiateFunction(SignalRServiceClient service, IOptions<SignalRServiceOptions> options)
{
    public const string Name = "NegotiateLiveProgress";

    public static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(1);

    /// <summary>
    /// With Azure SignalR Service. Without it, the local host's in-process hub answers this route
    /// itself (the one endpoint the local host adds), and this function says live progress is not configured.
    /// </summary>
    [Function(Name)]
    public Task<IActionResult> RunAsync([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/negotiate")] HttpRequest request) =>
        Api.ApiFunction.ForCallerAsync(request, async caller =>
        {
            if (!options.Value.Enabled)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Live progress not configured",
                    detail: "Set AZURE_SIGNALR_ENDPOINT (or AZURE_SIGNALR_CONNECTION_STRING) for Azure SignalR Service; the stream route works either way.");
            }

            if (InvalidSyncId(request) is { } invalid)
            {
                return invalid;
            }

            var syncId = request.Query.TryGetValue("sync_id", out var value) ? value.ToString() : null;

            var userId = $"{caller.TenantId}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";
            var group = syncId is null ? ProgressGroups.Tenant(caller.TenantId) : ProgressGroups.Sync(caller.TenantId, syncId);
            var cancellationToken = request.HttpContext.RequestAborted;
            await service.AddUserToGroupAsync(group, userId, TokenLifetime, cancellationToken).ConfigureAwait(false);
            var token = await service.GenerateClientTokenAsync(userId, TokenLifetime, cancellationToken).ConfigureAwait(false);
            return TypedResults.Ok(new NegotiateRedirect(service.ClientUrl, token));
        });

    /// <summary>
    /// A <c>?sync_id=</c> that is not a sync id, empty included: refused, never quietly read as "the
    /// tenant's group". The local host's in-process hub asks the same before its own negotiate.
    /// </summary>
    public static ValidationProblem? InvalidSyncId(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Query.TryGetValue("sync_id", out var value) && !SyncId.IsValid(value.ToString())
            ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["sync_id"] = Api.ApiProblems.InvalidSyncId["sync_id"] })
            : null;
    }
}
