using Microsoft.AspNetCore.Http.HttpResults;
using SyncFunctions.Orchestration;
using SyncFunctions.Progress;
using SyncFunctions.Security;

namespace SyncFunctions.Api;

/// <summary>The per-integration routes older clients use: trigger one connector, read one sync's progress.</summary>
public static class IntegrationEndpoints
{
    public static IEndpointRouteBuilder MapIntegrationEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/integrations/{connector}/sync", TriggerAsync)
            .WithName("TriggerConnectorSync").WithSummary("Start a sync of one connector")
            .RequireAuthorization().AddEndpointFilter<TenantScopeFilter>().WithTags("Integrations");
        app.MapGet("/api/sync-progress/{syncId}", ProgressAsync)
            .WithName("GetSyncProgress").WithSummary("One sync's progress in the per-integration shape")
            .RequireAuthorization().AddEndpointFilter<TenantScopeFilter>().WithTags("Integrations");
        return app;
    }

    private static async Task<Results<Accepted<IntegrationSyncResponse>, Conflict<SyncConflictResponse>, ValidationProblem, ProblemHttpResult>> TriggerAsync(
        string connector, Caller caller, SyncTrigger trigger, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!InputRules.IsValidConnectorName(connector))
        {
            return TypedResults.ValidationProblem(ApiProblems.InvalidConnectorName);
        }

        var result = await trigger.TriggerAsync(caller.TenantId, [connector], caller.Email, cancellationToken).ConfigureAwait(false);
        if (result is TriggerResult.Accepted accepted)
        {
            var statusUrl = $"/api/sync-progress/{accepted.Operation.SyncId}";
            return TypedResults.Accepted(statusUrl, new IntegrationSyncResponse(true, accepted.Operation.SyncId, statusUrl));
        }

        return SyncEndpoints.ToHttpResult(result, time).Result switch
        {
            Conflict<SyncConflictResponse> conflict => conflict,
            ValidationProblem invalid => invalid,
            ProblemHttpResult problem => problem,
            _ => throw new InvalidOperationException("Unexpected trigger result."),
        };
    }

    private static async Task<Results<Ok<ProgressSnapshot>, ValidationProblem, ProblemHttpResult>> ProgressAsync(
        string syncId, Caller caller, SyncOperationStore operations, CancellationToken cancellationToken)
    {
        if (!SyncId.IsValid(syncId))
        {
            return TypedResults.ValidationProblem(ApiProblems.InvalidSyncId);
        }

        var operation = await operations.GetAsync(caller.TenantId, syncId, cancellationToken).ConfigureAwait(false);
        return operation is null ? ApiProblems.SyncNotFound(syncId) : TypedResults.Ok(ProgressSnapshot.From(operation));
    }
}
