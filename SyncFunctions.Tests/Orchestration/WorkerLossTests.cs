using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Locking;
using SyncFunctions.Progress;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Orchestration;

/// <summary>
/// A worker "dies" by standing still: instance A's clock never moves again, so it sends no heartbeat
/// and no longer extends its message's visibility (2 s here), exactly what a killed process leaves.
/// The message comes back on the real queue and instance B, whose clock is past the stale window,
/// receives it.
/// </summary>
public sealed class WorkerLossTests
{
    private static async Task<(SyncApp App, FakeTimeProvider Clock, HttpClient Client, string Tenant, string SyncId)> StartAndStallAsync()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var app = await SyncApp.StartAsync(
            new Dictionary<string, string?> { ["SYNC_WORKER_CONCURRENCY"] = "1", ["SYNC_RUN_VISIBILITY_TIMEOUT_SECONDS"] = "2" }, clock);
        var tenant = SyncApp.NewTenant();
        var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 6, hang_after = 3 });
        var syncId = await client.TriggerAsync();
        await client.WaitForSyncAsync(syncId, clock, s => s.GetProperty("files_processed").GetInt32() == 3, "three items processed");
        return (app, clock, client, tenant, syncId);
    }

    [Fact]
    public async Task Run_WhenItsWorkerDiesMidRun_IsResumedByAnotherWorkerFromItsReturnedMessage()
    {
        var (instanceA, clockA, clientA, tenant, syncId) = await StartAndStallAsync();
        using var _ = instanceA;
        using var __ = clientA;
        await clientA.PutConnectionAsync("demo", new { items = 6 }); // the next attempt will not stall

        var clockB = new FakeTimeProvider(clockA.GetUtcNow() + TimeSpan.FromSeconds(91));
        using var instanceB = await SyncApp.StartAsync(new Dictionary<string, string?> { ["SYNC_RUN_VISIBILITY_TIMEOUT_SECONDS"] = "2" }, clockB, instanceA.Prefix);
        using var clientB = await instanceB.ClientForAsync(tenant);

        var done = await clientB.WaitForEndAsync(syncId);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(6, done.GetProperty("files_processed").GetInt32());
        await instanceB.WaitForLogAsync($"Sync {syncId} resumed by a new worker (attempt 2)");
        var operation = await instanceB.Get<SyncOperationStore>().GetAsync(tenant, syncId, CancellationToken.None);
        Assert.Equal(2, operation!.RunAttempt);
        await Eventually.MatchAsync(() => instanceB.Get<TableTenantLock>().GetAsync(tenant, CancellationToken.None), l => l is null, "the lock to be released");

        // The first worker comes back to life: it must not touch what its successor finished.
        clockA.Advance(TimeSpan.FromSeconds(30));
        await Eventually.MatchAsync(
            () => Task.FromResult(instanceA.Logs.Lines.Any(l => l.StartsWith($"Sync {syncId} is no longer this runner's", StringComparison.Ordinal))),
            seen => seen, "the old worker to notice it lost the run");
        Assert.Equal("completed", (await clientB.GetSyncAsync(syncId)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Run_WhenItsMessageComesBackAfterTheLastAllowedDelivery_FailsTheSyncAndPoisonsTheMessage()
    {
        var (instanceA, clockA, clientA, tenant, syncId) = await StartAndStallAsync();
        using var _ = instanceA;
        using var __ = clientA;

        var clockB = new FakeTimeProvider(clockA.GetUtcNow() + TimeSpan.FromSeconds(91));
        using var instanceB = await SyncApp.StartAsync(
            new Dictionary<string, string?> { ["SYNC_RUN_VISIBILITY_TIMEOUT_SECONDS"] = "2", ["SYNC_MAX_DEQUEUE_COUNT"] = "1" }, clockB, instanceA.Prefix);
        using var clientB = await instanceB.ClientForAsync(tenant);

        var done = await clientB.WaitForEndAsync(syncId);
        Assert.Equal("failed", done.GetProperty("status").GetString());
        Assert.Equal("run_failed_repeatedly", done.GetProperty("failure_reason").GetString());
        Assert.Contains("poison", done.GetProperty("error_message").GetString(), StringComparison.Ordinal);
        await Eventually.MatchAsync(() => instanceB.Get<TableTenantLock>().GetAsync(tenant, CancellationToken.None), l => l is null, "the lock to be released");
        var poisoned = await Eventually.MatchAsync(
            async () => (await instanceB.Storage.PoisonQueue.PeekMessagesAsync(10)).Value,
            messages => messages.Length == 1, "the message in sync-runs-poison");
        Assert.Contains(syncId, poisoned[0].Body.ToString(), StringComparison.Ordinal);
    }
}
