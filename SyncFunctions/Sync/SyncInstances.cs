using Grpc.Core;
using Microsoft.DurableTask.Client;

namespace SyncFunctions.Sync;

/// <summary>What the API and the sweep do to a sync's orchestration instance through the Durable client.</summary>
public static class SyncInstances
{
    /// <summary>
    /// Stops an instance that no longer has a reason to run (its sync was failed or taken over). An
    /// instance that has already finished, or never existed, is left as it is.
    /// </summary>
    public static async Task TerminateAsync(DurableTaskClient client, string syncId, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var instance = await client.GetInstanceAsync(syncId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (instance is null || instance.IsCompleted)
        {
            return;
        }

        try
        {
            await client.TerminateInstanceAsync(syncId, new TerminateInstanceOptions { Output = reason }, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.FailedPrecondition)
        {
            // Finished between the read and the terminate.
        }
    }
}
