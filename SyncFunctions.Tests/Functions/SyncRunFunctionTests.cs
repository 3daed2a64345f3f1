using SyncFunctions.Functions;
using SyncFunctions.Locking;
using SyncFunctions.Orchestration;
using SyncFunctions.Progress;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Functions;

/// <summary>The SyncRun body on its last allowed delivery: whatever happens, the sync does not stay running.</summary>
public sealed class SyncRunFunctionTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task InvokeAsync_WhenTheInstanceStopsDuringTheLastDelivery_FailsTheSyncInsteadOfHandingItBack()
    {
        using var app = await SyncApp.StartAsync(new Dictionary<string, string?> { ["SYNC_DISABLE_LOCAL_DRIVERS"] = "true" });
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 5, hang_after = 2 });
        var syncId = await client.TriggerAsync();
        var message = (await app.Storage.RunQueue.ReceiveMessageAsync(TimeSpan.FromMinutes(10))).Value;
        using var stopping = new CancellationTokenSource();
        var lastDelivery = app.Get<Microsoft.Extensions.Options.IOptions<SyncFunctions.Configuration.SyncOptions>>().Value.MaxDequeueCount;

        var run = app.Get<SyncRunFunction>().InvokeAsync(message.MessageText, message.MessageId, lastDelivery, new NoLease(), stopping.Token);
        await client.WaitForSyncAsync(syncId, s => s.GetProperty("files_processed").GetInt32() == 2, "two items processed");
        await stopping.CancelAsync();
        var outcome = await run;

        Assert.Equal(RunDisposition.Poison, outcome.Disposition);
        var operation = await app.Get<SyncOperationStore>().GetAsync(tenant, syncId, None);
        Assert.Equal(SyncStatus.Failed, operation!.Status);
        Assert.Equal(FailureReason.RunFailedRepeatedly, operation.FailureReason);
        Assert.Contains("stopped on the last delivery", operation.ErrorMessage, StringComparison.Ordinal);
        Assert.Null(await app.Get<TableTenantLock>().GetAsync(tenant, None));
    }

    [Fact]
    public async Task InvokeAsync_WhenTheInstanceStopsBeforeTheLastDelivery_HandsTheRunBack()
    {
        using var app = await SyncApp.StartAsync(new Dictionary<string, string?> { ["SYNC_DISABLE_LOCAL_DRIVERS"] = "true" });
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 5, hang_after = 2 });
        var syncId = await client.TriggerAsync();
        var message = (await app.Storage.RunQueue.ReceiveMessageAsync(TimeSpan.FromMinutes(10))).Value;
        using var stopping = new CancellationTokenSource();

        var run = app.Get<SyncRunFunction>().InvokeAsync(message.MessageText, message.MessageId, 1, new NoLease(), stopping.Token);
        await client.WaitForSyncAsync(syncId, s => s.GetProperty("files_processed").GetInt32() == 2, "two items processed");
        await stopping.CancelAsync();
        var outcome = await run;

        Assert.Equal(RunDisposition.Abandon, outcome.Disposition);
        var operation = await app.Get<SyncOperationStore>().GetAsync(tenant, syncId, None);
        Assert.Equal(SyncStatus.Running, operation!.Status);
        Assert.NotNull(await app.Get<TableTenantLock>().GetAsync(tenant, None));
    }

    private sealed class NoLease : IRunMessageLease
    {
        public Task ExtendAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
