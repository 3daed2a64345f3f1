using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace SyncFunctions.TextbookPeer;

/// <summary>
/// The sync as the Durable Functions docs teach it: a LockEntitiesAsync critical section on the tenant's entity as the
/// lock, then fan-out/fan-in of one activity per item (the docs' backup sample), progress in the custom status. On
/// purpose there is no timer, no heartbeat and no sweep: the peer measures what the textbook way gives without them.
/// </summary>
public static class TextbookSyncOrchestration
{
    public const string Name = "TextbookSync";

    [Function(Name)]
    public static async Task<TextbookStatus> RunAsync([OrchestrationTrigger] TaskOrchestrationContext context, TextbookRequest request)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(request);

        // The lock is released when the section is disposed: on success and on an exception in the orchestrator, not
        // when its process dies mid-section (then replay has to reach the dispose).
        await using (await context.Entities.LockEntitiesAsync(TextbookTenantLock.For(request.TenantId)))
        {
            context.SetCustomStatus(new TextbookStatus(request.RunId, TextbookStatus.Running, 0, 0, 0));
            var items = await context.CallActivityAsync<List<Connectors.WorkItem>>(TextbookActivities.BeginName, request);
            context.SetCustomStatus(new TextbookStatus(request.RunId, TextbookStatus.Running, items.Count, 0, 0));

            var results = await Task.WhenAll(items.Select(item => context.CallActivityAsync<bool>(TextbookActivities.ProcessItemName, new TextbookItem(request, item))));
            var processed = results.Count(ok => ok);
            var outcome = new TextbookOutcome(request, processed, results.Length - processed);
            await context.CallActivityAsync(TextbookActivities.EndName, outcome);

            var done = new TextbookStatus(request.RunId, TextbookStatus.Completed, items.Count, outcome.Processed, outcome.Failed);
            context.SetCustomStatus(done);
            return done;
        }
    }
}
