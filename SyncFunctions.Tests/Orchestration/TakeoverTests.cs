using System.Net;
using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Locking;
using SyncFunctions.Progress;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Orchestration;

public sealed class TakeoverTests
{
    [Fact]
    public async Task Trigger_WhenTheHolderWasNeverPickedUpPastTheQueueTimeout_TakesOverAndFailsItAsSuperseded()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var app = await SyncApp.StartAsync(new Dictionary<string, string?> { ["SYNC_DISABLE_LOCAL_DRIVERS"] = "true" }, clock);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 3 });
        var first = await client.TriggerAsync();
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync("/api/v1/sync", null)).StatusCode);

        clock.Advance(TimeSpan.FromSeconds(901));
        var response = await client.PostAsync("/api/v1/sync", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal(first, body.GetProperty("replaced_sync_id").GetString());
        var old = await client.GetSyncAsync(first);
        Assert.Equal("failed", old.GetProperty("status").GetString());
        Assert.Equal("superseded", old.GetProperty("failure_reason").GetString());
        var holder = await app.Get<TableTenantLock>().GetAsync(tenant, CancellationToken.None);
        Assert.Equal(body.GetProperty("sync_id").GetString(), holder!.HolderId);
    }

    /// <summary>
    /// Two instances on one storage account, each with its own clock. Instance A runs the sync and then
    /// stands still (its clock never moves: no heartbeats, like a hung or paused process); instance B's
    /// clock is past the stale window, so B sees A's sync as stuck.
    /// </summary>
    [Fact]
    public async Task Trigger_WhenTheRunningHolderStoppedHeartbeating_TakesOverAndTheLateFinisherChangesNothing()
    {
        var clockA = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var instanceA = await SyncApp.StartAsync(new Dictionary<string, string?> { ["SYNC_WORKER_CONCURRENCY"] = "1" }, clockA);
        var tenant = SyncApp.NewTenant();
        using var clientA = await instanceA.ClientForAsync(tenant);
        await clientA.PutConnectionAsync("demo", new { items = 10, hang_after = 3 });
        var stuck = await clientA.TriggerAsync();
        await clientA.WaitForSyncAsync(stuck, clockA, s => s.GetProperty("files_processed").GetInt32() == 3, "three items processed");

        var clockB = new FakeTimeProvider(clockA.GetUtcNow() + TimeSpan.FromSeconds(91));
        using var instanceB = await SyncApp.StartAsync(new Dictionary<string, string?> { ["SYNC_DISABLE_LOCAL_DRIVERS"] = "true" }, clockB, instanceA.Prefix);
        using var clientB = await instanceB.ClientForAsync(tenant);
        var response = await clientB.PostAsync("/api/v1/sync", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var successor = (await response.JsonAsync()).GetProperty("sync_id").GetString()!;
        Assert.Equal(stuck, (await response.JsonAsync()).GetProperty("replaced_sync_id").GetString());
        var superseded = await clientB.GetSyncAsync(stuck);
        Assert.Equal("failed", superseded.GetProperty("status").GetString());
        Assert.Equal("superseded", superseded.GetProperty("failure_reason").GetString());

        // A wakes up: its next heartbeat finds the operation ended and the lock taken, and stops.
        clockA.Advance(TimeSpan.FromSeconds(30));
        await Eventually.MatchAsync(
            () => Task.FromResult(instanceA.Logs.Lines.Any(l => l.Contains($"Sync {stuck} is no longer this runner's", StringComparison.Ordinal))),
            seen => seen, "the late runner to notice it lost the sync");
        await Eventually.MatchAsync(
            () => Task.FromResult(instanceA.Logs.Lines.Any(l => l == $"Tenant {tenant} lock not released by {stuck}: it is held by {successor}")),
            seen => seen, "the late runner to leave its successor's lock alone");

        var after = await clientB.GetSyncAsync(stuck);
        Assert.Equal("failed", after.GetProperty("status").GetString());
        Assert.Equal("superseded", after.GetProperty("failure_reason").GetString());
        var holder = await instanceB.Get<TableTenantLock>().GetAsync(tenant, CancellationToken.None);
        Assert.Equal(successor, holder!.HolderId);
    }

    [Fact]
    public async Task EndAndRelease_ByALateFinisher_CannotOverwriteOrReleaseItsSuccessor()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var app = await SyncApp.StartAsync(new Dictionary<string, string?> { ["SYNC_DISABLE_LOCAL_DRIVERS"] = "true" }, clock);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 3 });
        var first = await client.TriggerAsync();
        var operations = app.Get<SyncOperationStore>();
        var locks = app.Get<TableTenantLock>();
        var lateCopy = await operations.GetAsync(tenant, first, CancellationToken.None);
        var lateLease = await locks.GetAsync(tenant, CancellationToken.None);

        clock.Advance(TimeSpan.FromSeconds(901));
        var second = await client.TriggerAsync();

        // The first run's owner finishes late, holding the row and lock versions it last saw.
        SyncOperationStore.MarkEnded(lateCopy!, SyncStatus.Completed, null, null, clock.GetUtcNow());
        var overwrite = await Assert.ThrowsAsync<Azure.RequestFailedException>(() => operations.ReplaceAsync(lateCopy!, CancellationToken.None));
        Assert.Equal(412, overwrite.Status);
        Assert.False(await locks.ReleaseAsync(tenant, first, lateLease!.ETag, CancellationToken.None));
        await Assert.ThrowsAsync<LockLostException>(() => locks.RenewAsync(lateLease, clock.GetUtcNow().AddMinutes(5), CancellationToken.None));

        Assert.Equal("superseded", (await client.GetSyncAsync(first)).GetProperty("failure_reason").GetString());
        Assert.Equal(second, (await locks.GetAsync(tenant, CancellationToken.None))!.HolderId);
    }
}
