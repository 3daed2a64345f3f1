using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using SyncFunctions.Progress;
using SyncFunctions.Security;
using SyncFunctions.Sweep;
using SyncFunctions.Sync;

namespace SyncFunctions.Api;

/// <summary>/api/v1/sync: trigger, status, one sync, history, cancel, cleanup.</summary>
public sealed class SyncApiFunctions(SyncStarter starter, SyncCancellation cancellation, SyncOperationStore operations, StaleSyncSweep sweep, TimeProvider time)
{
    [Function("TriggerSync")]
    public Task<IActionResult> TriggerAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/sync")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        ApiFunction.ForCallerAsync(request, async caller =>
        {
            var (body, problem) = await ApiFunction.ReadJsonAsync<TriggerSyncRequest>(request).ConfigureAwait(false);
            if (problem is not null)
            {
                return problem;
            }

            var connectors = body?.Connectors;
            var invalid = (connectors ?? []).Select((name, i) => (name, i)).Where(c => !InputRules.IsValidConnectorName(c.name))
                .ToDictionary(c => $"connectors[{c.i}]", _ => ApiProblems.InvalidConnectorName["connector"]);
            if (invalid.Count > 0)
            {
                return TypedResults.ValidationProblem(invalid);
            }

            var result = await starter.StartAsync(client, caller.TenantId, connectors, caller.Email, request.HttpContext.RequestAborted).ConfigureAwait(false);
            return ToHttpResult(result, time);
        });

    [Function("GetSyncStatus")]
    public Task<IActionResult> StatusAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/sync/status")] HttpRequest request) =>
        ApiFunction.ForCallerAsync(request, async caller =>
        {
            var latest = await operations.GetLatestAsync(caller.TenantId, request.HttpContext.RequestAborted).ConfigureAwait(false);
            return TypedResults.Ok(new SyncStatusResponse(latest?.ToDto(time.GetUtcNow()), SyncMapping.FileStatus(latest)));
        });

    [Function("GetSyncHistory")]
    public Task<IActionResult> HistoryAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/sync/history")] HttpRequest request) =>
        ApiFunction.ForCallerAsync(request, async caller =>
        {
            var size = 20;
            if (request.Query.TryGetValue("limit", out var limit)
                && (!int.TryParse(limit.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out size) || size is < 1 or > 100))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = ["'limit' is a whole number from 1 to 100."] });
            }

            var pageToken = request.Query.TryGetValue("page_token", out var token) ? token.ToString() : null;
            if (pageToken is not null && !SyncOperationStore.IsValidPageToken(pageToken))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["page_token"] = ["Not a page token returned by this endpoint."] });
            }

            var (items, next) = await operations.ListAsync(caller.TenantId, size, pageToken, request.HttpContext.RequestAborted).ConfigureAwait(false);
            var now = time.GetUtcNow();
            return TypedResults.Ok(new SyncHistoryResponse(items.Select(i => i.ToDto(now)).ToList(), next));
        });

    /// <summary>The caller's tenant; an admin who names no tenant_id sweeps every tenant.</summary>
    [Function("CleanupStaleSyncs")]
    public Task<IActionResult> CleanupAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/sync/cleanup")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        ApiFunction.ForCallerAsync(request, async caller =>
        {
            var allTenants = caller.IsAdmin && !caller.TenantNamed;
            var result = await sweep.SweepAsync(client, allTenants ? null : caller.TenantId, request.HttpContext.RequestAborted).ConfigureAwait(false);
            return TypedResults.Ok(new CleanupResponse(result.Cleaned, result.SyncIds));
        });

    [Function("GetSync")]
    public Task<IActionResult> GetAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/sync/{syncId}")] HttpRequest request, string syncId) =>
        ApiFunction.ForCallerAsync(request, async caller =>
        {
            if (!SyncId.IsValid(syncId))
            {
                return TypedResults.ValidationProblem(ApiProblems.InvalidSyncId);
            }

            var operation = await operations.GetAsync(caller.TenantId, syncId, request.HttpContext.RequestAborted).ConfigureAwait(false);
            return operation is null ? ApiProblems.SyncNotFound(syncId) : TypedResults.Ok(operation.ToDto(time.GetUtcNow()));
        });

    [Function("CancelSync")]
    public Task<IActionResult> CancelAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/sync/{syncId}/cancel")] HttpRequest request,
        string syncId,
        [DurableClient] DurableTaskClient client) =>
        ApiFunction.ForCallerAsync(request, async caller =>
        {
            if (!SyncId.IsValid(syncId))
            {
                return TypedResults.ValidationProblem(ApiProblems.InvalidSyncId);
            }

            var result = await cancellation.CancelAsync(client, caller.TenantId, syncId, caller.Email, request.HttpContext.RequestAborted).ConfigureAwait(false);
            return result switch
            {
                CancelResult.Cancelled c => TypedResults.Ok(c.Operation.ToDto(time.GetUtcNow())),
                CancelResult.AlreadyEnded e => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Sync already ended", detail: $"Sync '{syncId}' has already ended ({e.Operation.Status})."),
                _ => ApiProblems.SyncNotFound(syncId),
            };
        });

    internal static IResult ToHttpResult(TriggerResult result, TimeProvider time)
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
                var now = time.GetUtcNow();
                var message = running is null ? "A sync is already starting for this tenant." : ConflictMessage(running, now);
                var latest = running?.ToDto(now) ?? SyncMapping.Starting(conflict.HolderSyncId, conflict.HeldSince);
                return TypedResults.Conflict(new SyncConflictResponse(false, true, message, latest));
            case TriggerResult.Invalid invalid:
                return TypedResults.ValidationProblem(invalid.Errors);
            case TriggerResult.Unavailable unavailable:
                return ApiProblems.Unavailable(unavailable.Message);
            default:
                throw new InvalidOperationException($"Unexpected trigger result {result.GetType().Name}.");
        }
    }

    /// <summary>The running sync's numbers as its latest_sync carries them: the same figures, the same moment.</summary>
    private static string ConflictMessage(SyncOperationEntity running, DateTimeOffset now)
    {
        var figures = ProgressFigures.Of(running, now);
        return string.Create(CultureInfo.InvariantCulture,
            $"A sync is already {running.Status} for this tenant ({figures.Percentage}% {figures.Stage}, {figures.DoneItems} of {figures.TotalItems} items done).");
    }
}
