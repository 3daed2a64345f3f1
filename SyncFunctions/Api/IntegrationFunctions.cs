using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using SyncFunctions.Progress;
using SyncFunctions.Security;
using SyncFunctions.Sync;

namespace SyncFunctions.Api;

/// <summary>The per-integration routes older clients use: trigger one connector, read one sync's progress.</summary>
public sealed class IntegrationFunctions(SyncStarter starter, SyncOperationStore operations, TimeProvider time)
{
    [Function("TriggerConnectorSync")]
    public Task<IActionResult> TriggerAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/integrations/{connector}/sync")] HttpRequest request,
        string connector,
        [DurableClient] DurableTaskClient client) =>
        ApiFunction.ForCallerAsync(request, async caller =>
        {
            if (!InputRules.IsValidConnectorName(connector))
            {
                return TypedResults.ValidationProblem(ApiProblems.InvalidConnectorName);
            }

            var result = await starter.StartAsync(client, caller.TenantId, [connector], caller.Email, request.HttpContext.RequestAborted).ConfigureAwait(false);
            if (result is TriggerResult.Accepted accepted)
            {
                var statusUrl = $"/api/sync-progress/{accepted.Operation.SyncId}";
                return TypedResults.Accepted(statusUrl, new IntegrationSyncResponse(true, accepted.Operation.SyncId, statusUrl));
            }

            return SyncApiFunctions.ToHttpResult(result, time);
        });

    [Function("GetSyncProgress")]
    public Task<IActionResult> ProgressAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/sync-progress/{syncId}")] HttpRequest request,
        string syncId) =>
        ApiFunction.ForCallerAsync(request, async caller =>
        {
            if (!SyncId.IsValid(syncId))
            {
                return TypedResults.ValidationProblem(ApiProblems.InvalidSyncId);
            }

            var operation = await operations.GetAsync(caller.TenantId, syncId, request.HttpContext.RequestAborted).ConfigureAwait(false);
            return operation is null ? ApiProblems.SyncNotFound(syncId) : TypedResults.Ok(ProgressSnapshot.From(operation, time.GetUtcNow()));
        });
}
