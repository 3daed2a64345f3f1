using Azure.Data.Tables;
using SyncFunctions.Sync;
using SyncFunctions.Tests.Connectors;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Sync;

/// <summary>A connector's items in several batch activities: one activity per batch, each item counted and written once.</summary>
public sealed class BatchTests : IAsyncLifetime
{
    // One-second batches against 60 items of 100 ms, four at once (1.5 s of work): at least two batches.
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["SYNC_BATCH_SECONDS"] = "1",
        ["SYNC_ITEM_PARALLELISM"] = "4",
        ["SYNC_PROGRESS_FLUSH_MILLISECONDS"] = "200",
    };

    private SyncApp _app = null!;

    public async Task InitializeAsync() => _app = await SyncApp.StartAsync(Settings);

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Sync_WithMoreWorkThanOneBatch_RunsSeveralBatchesAndCountsEachItemOnce()
    {
        var tenant = SyncApp.NewTenant("batch");
        using var client = await _app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 60, item_delay_ms = 100 });

        var syncId = await client.TriggerAsync();
        var done = await client.WaitForEndAsync(syncId);

        Assert.Equal("completed", done.Status());
        Assert.Equal(60, done.Int("files_processed"));
        Assert.Equal(0, done.Int("files_failed"));
        var documents = await ConnectorTestKit.DocumentsAsync(_app, tenant, "demo", syncId);
        Assert.Equal(60, documents.Select(d => d.GetProperty("id").GetString()).Distinct().Count());
        Assert.True(await ScheduledAsync(syncId, SyncActivities.ProcessBatch) >= 2, "the items should have taken more than one batch");
        Assert.Equal(1, await ScheduledAsync(syncId, SyncActivities.DetectChanges));
        Assert.Null(await _app.Get<WorkListStore>().GetAsync(tenant, syncId, "demo", CancellationToken.None));
    }

    [Fact]
    public async Task Sync_WithFailingItemsInSeveralBatches_CountsEveryFailureOnceAndCompletes()
    {
        var tenant = SyncApp.NewTenant("batch");
        using var client = await _app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 60, item_delay_ms = 100, fail_every = 7 });

        var syncId = await client.TriggerAsync();
        var done = await client.WaitForEndAsync(syncId);

        Assert.Equal("completed", done.Status());
        Assert.Equal(52, done.Int("files_processed"));
        Assert.Equal(8, done.Int("files_failed")); // items 7, 14, ..., 56
        Assert.True(await ScheduledAsync(syncId, SyncActivities.ProcessBatch) >= 2, "the items should have taken more than one batch");
    }

    [Fact]
    public async Task Sync_WithNothingToDo_CommitsInItsDetectionAndRunsNoBatch()
    {
        var tenant = SyncApp.NewTenant("batch");
        using var client = await _app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 0 });

        var syncId = await client.TriggerAsync();
        var done = await client.WaitForEndAsync(syncId);

        Assert.Equal("completed", done.Status());
        Assert.Equal(0, await ScheduledAsync(syncId, SyncActivities.ProcessBatch));
    }

    /// <summary>How many times the sync's orchestration scheduled an activity, read from the task hub's history table.</summary>
    private async Task<int> ScheduledAsync(string syncId, string activity)
    {
        var azurite = await AzuriteServer.GetAsync();
        var history = new TableClient(azurite.ConnectionString, _app.TaskHub + "History");
        var count = 0;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {syncId} and EventType eq {"TaskScheduled"} and Name eq {activity}");
        await foreach (var _ in history.QueryAsync<TableEntity>(filter, select: ["RowKey"]))
        {
            count++;
        }

        return count;
    }
}
