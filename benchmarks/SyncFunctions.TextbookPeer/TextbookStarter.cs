using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using SyncFunctions.Progress;
using SyncFunctions.Security;

namespace SyncFunctions.TextbookPeer;

/// <summary>
/// The HTTP side, as the docs' "singleton orchestrator" recipe writes it: read the tenant's fixed instance id and
/// schedule it only when none is running. The read and the schedule are two steps, so triggers racing between them
/// all schedule (azure-functions-durable-extension #367, #612, #1265): the peer keeps that race, it is what is measured.
/// No authentication: the benchmark's peer has none to compare.
/// </summary>
public sealed class TextbookStarter(TimeProvider time)
{
    [Function("TextbookSyncStart")]
    public async Task<IActionResult> StartAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "textbook/sync/{tenant}")] HttpRequest request,
        string tenant,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (RejectTenant(tenant) is { } rejected)
        {
            return rejected;
        }

        var instanceId = TextbookNames.InstanceId(tenant);
        var existing = await client.GetInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false);
        if (existing is not null && existing.RuntimeStatus is not (OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated))
        {
            return new ConflictObjectResult(new { message = $"An instance with ID '{instanceId}' already exists." });
        }

        var run = new TextbookRequest(tenant, SyncId.New(time.GetUtcNow()));
        await client.ScheduleNewOrchestrationInstanceAsync(TextbookSyncOrchestration.Name, run, new StartOrchestrationOptions(instanceId), cancellationToken).ConfigureAwait(false);
        return new ObjectResult(new { instance_id = instanceId, run_id = run.RunId }) { StatusCode = StatusCodes.Status202Accepted };
    }

    /// <summary>The 400 both functions answer for a tenant id the app itself would refuse; null for a valid one.</summary>
    private static BadRequestObjectResult? RejectTenant(string tenant) =>
        InputRules.IsValidTenantId(tenant) ? null : new BadRequestObjectResult(new { message = "Not a valid tenant id." });

    /// <summary>What the docs' status query URL answers, trimmed to what a client reads: runtime status and custom status.</summary>
    [Function("TextbookSyncStatus")]
    public static async Task<IActionResult> StatusAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "textbook/sync/{tenant}")] HttpRequest request,
        string tenant,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (RejectTenant(tenant) is { } rejected)
        {
            return rejected;
        }

        var instance = await client.GetInstanceAsync(TextbookNames.InstanceId(tenant), getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        if (instance is null)
        {
            return new NotFoundResult();
        }

        var status = instance.SerializedCustomStatus is { } custom ? JsonSerializer.Deserialize<JsonElement>(custom) : (JsonElement?)null;
        return new OkObjectResult(new { runtime_status = instance.RuntimeStatus.ToString(), custom_status = status });
    }
}
