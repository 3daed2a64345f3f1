using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Orchestration;
using SyncFunctions.Progress;
using SyncFunctions.Security;
using SyncFunctions.Sweep;

namespace SyncFunctions.Api;

/// <summary>/api/v1/sync: trigger, status, one sync, history, cancel, cleanup.</summary>
public static class SyncEndpoints
{
    public static IEndpointRouteBuilder MapSyncEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/sync").RequireAuthorization().AddEndpointFilter<TenantScopeFilter>().WithTags("Sync");
        group.MapPost("/", TriggerAsync).WithName("TriggerSync")
            .WithSummary("Start a sync of the caller's tenant").WithDescription("Body optional: {\"connectors\": [...]}; default all configured connectors. 409 with the running sync's progress when one is active.");
        group.MapGet("/status", StatusAsync).WithName("GetSyncStatus").WithSummary("The latest sync and the file counts");
        group.MapGet("/history", HistoryAsync).WithName("GetSyncHistory").WithSummary("The tenant's syncs, newest first, paged by page_token");
        group.MapPost("/cleanup", CleanupAsync).WithName("CleanupStaleSyncs")
            .WithSummary("Fail stale syncs and release their locks").WithDescription("The caller's tenant; an admin naming no tenant_id sweeps every tenant.");
        group.MapGet("/{syncId}", GetAsync).WithName("GetSync").WithSummary("One sync: status, progress, heartbeat, deadline and connectors");
        group.MapPost("/{syncId}/cancel", CancelAsync).WithName("CancelSync").WithSummary("Cancel a queued or running sync; 409 when it has already ended");
        return app;
    }

    internal static Results<Accepted<TriggerSyncResponse>, Conflict<SyncConflictResponse>, ValidationProblem, ProblemHttpResult> ToHttpResult(
        TriggerResult result, TimeProvider time)
    {
        switch (result)
        {
            case TriggerResult.Accepted accepted:
                var op = accepted.Operation;
                var statusUrl = $"/api/v1/sync/{op.SyncId}";
                return TypedResults.Accepted(statusUrl, new TriggerSyncResponse(
                    op.SyncId, op.Status, statusUrl, $"/api/sync-progress/{op.SyncId}/stream", op.ExpectedDurationSeconds, op.ReplacedSyncId));
            case TriggerResult.Conflict conflict:
                var running = conflict.Running;
                var message = running is null
                    ? "A sync is already starting for this tenant."
                    : $"A sync is already {running.Status} for this tenant ({running.ProgressPercentage}% {running.ProgressStage}).";
                var latest = running?.ToDto(time.GetUtcNow()) ?? SyncMapping.Starting(conflict.Holder);
                return TypedResults.Conflict(new SyncConflictResponse(false, true, message, latest));
            case TriggerResult.Invalid invalid:
                return TypedResults.ValidationProblem(invalid.Errors);
            case TriggerResult.Unavailable unavailable:
                return ApiProblems.Unavailable(unavailable.Message);
            default:
                throw new InvalidOperationException($"Unexpected trigger result {result.GetType().Name}.");
        }
    }

    private static async Task<Results<Accepted<TriggerSyncResponse>, Conflict<SyncConflictResponse>, ValidationProblem, ProblemHttpResult>> TriggerAsync(
        TriggerSyncRequest? request, Caller caller, SyncTrigger trigger, TimeProvider time, CancellationToken cancellationToken)
    {
        var connectors = request?.Connectors;
        if (connectors is not null && connectors.Any(c => !InputRules.IsValidConnectorName(c)))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["connectors"] = ["Each connector name is 1 to 32 lowercase letters, digits, '_' or '-', starting with a letter."],
            });
        }

        var result = await trigger.TriggerAsync(caller.TenantId, connectors, caller.Email, cancellationToken).ConfigureAwait(false);
        return ToHttpResult(result, time);
    }

    private static async Task<Ok<SyncStatusResponse>> StatusAsync(Caller caller, SyncOperationStore operations, TimeProvider time, CancellationToken cancellationToken)
    {
        var latest = await operations.GetLatestAsync(caller.TenantId, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new SyncStatusResponse(latest?.ToDto(time.GetUtcNow()), SyncMapping.FileStatus(latest)));
    }

    private static async Task<Results<Ok<SyncOperationDto>, ValidationProblem, ProblemHttpResult>> GetAsync(
        string syncId, Caller caller, SyncOperationStore operations, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!SyncId.IsValid(syncId))
        {
            return TypedResults.ValidationProblem(ApiProblems.InvalidSyncId);
        }

        var operation = await operations.GetAsync(caller.TenantId, syncId, cancellationToken).ConfigureAwait(false);
        return operation is null ? ApiProblems.SyncNotFound(syncId) : TypedResults.Ok(operation.ToDto(time.GetUtcNow()));
    }

    private static async Task<Results<Ok<SyncHistoryResponse>, ValidationProblem>> HistoryAsync(
        Caller caller, SyncOperationStore operations, TimeProvider time, CancellationToken cancellationToken,
        string? limit = null, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "page_token")] string? pageToken = null)
    {
        var size = 20;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size) || size is < 1 or > 100))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = ["'limit' is a whole number from 1 to 100."] });
        }

        if (pageToken is not null && !SyncOperationStore.IsValidPageToken(pageToken))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["page_token"] = ["Not a page token returned by this endpoint."] });
        }

        var (items, next) = await operations.ListAsync(caller.TenantId, size, pageToken, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        return TypedResults.Ok(new SyncHistoryResponse(items.Select(i => i.ToDto(now)).ToList(), next));
    }

    private static async Task<Results<Ok<SyncOperationDto>, ValidationProblem, ProblemHttpResult>> CancelAsync(
        string syncId, Caller caller, SyncCancellation cancellation, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!SyncId.IsValid(syncId))
        {
            return TypedResults.ValidationProblem(ApiProblems.InvalidSyncId);
        }

        var result = await cancellation.CancelAsync(caller.TenantId, syncId, caller.Email, cancellationToken).ConfigureAwait(false);
        return result switch
        {
            CancelResult.Cancelled c => TypedResults.Ok(c.Operation.ToDto(time.GetUtcNow())),
            CancelResult.AlreadyEnded e => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Sync already ended", detail: $"Sync '{syncId}' has already ended ({e.Operation.Status})."),
            _ => ApiProblems.SyncNotFound(syncId),
        };
    }

    private static async Task<Ok<CleanupResponse>> CleanupAsync(
        Caller caller, StaleSyncSweeper sweeper, CancellationToken cancellationToken)
    {
        // An admin who names no tenant cleans every tenant; everyone else cleans their own.
        var allTenants = caller.IsAdmin && !caller.TenantNamed;
        var result = await sweeper.SweepAsync(allTenants ? null : caller.TenantId, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new CleanupResponse(result.Cleaned, result.SyncIds));
    }
}
