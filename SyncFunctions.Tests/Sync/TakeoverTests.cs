using System.Net;
using SyncFunctions.Locking;
using SyncFunctions.Progress;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Sync;

/// <summary>
/// A holder that can no longer finish is taken over by the next trigger: its sync is failed
/// <c>stuck</c>, its instance terminated, and the lock moves to the new sync, which names the one it
/// replaced. The stuck holders here are made by hand (a lock and an operation that a dead process left).
/// </summary>
public sealed class TakeoverTests(SharedSyncApp shared) : IClassFixture<SharedSyncApp>
{
    private SyncApp App => shared.App;

    [Fact]
    public async Task Trigger_WhenTheHolderStoppedHeartbeating_TakesOverAndFailsItAsStuck()
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 3 });
        var stuck = await App.LeaveAHolderAsync(tenant, heartbeatAge: TimeSpan.FromMinutes(10));

        var response = await client.PostAsync("/api/v1/sync", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.JsonAsync();
        var successor = body.GetProperty("sync_id").GetString()!;
        Assert.Equal(stuck, body.GetProperty("replaced_sync_id").GetString());
        var old = await client.GetSyncAsync(stuck);
        Assert.Equal("failed", old.GetProperty("status").GetString());
        Assert.Equal("stuck", old.GetProperty("failure_reason").GetString());
        Assert.Contains(successor, old.GetProperty("error_message").GetString(), StringComparison.Ordinal);
        Assert.Equal("completed", (await client.WaitForEndAsync(successor)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Trigger_WhenTheHolderNeverBeganPastTheQueueTimeout_TakesOverTheLock()
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 3 });
        var ghost = SyncId.New(DateTimeOffset.UtcNow.AddHours(-1));
        var durable = await App.DurableClientAsync();
        await durable.Entities.SignalEntityAsync(TenantLock.For(tenant), nameof(TenantLock.Acquire), new LockRequest(ghost, DateTimeOffset.UtcNow.AddHours(-1)));
        await Eventually.MatchAsync(() => App.LockOfAsync(tenant), l => l?.HolderSyncId == ghost, "the ghost to hold the lock");

        var response = await client.PostAsync("/api/v1/sync", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var successor = (await response.JsonAsync()).GetProperty("sync_id").GetString()!;
        Assert.Equal("completed", (await client.WaitForEndAsync(successor)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Trigger_WhenTheHolderIsAlive_Returns409WithItsProgressAndLeavesIt()
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 3 });
        var alive = await App.LeaveAHolderAsync(tenant, heartbeatAge: TimeSpan.FromSeconds(5));

        var response = await client.PostAsync("/api/v1/sync", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(alive, (await response.JsonAsync()).GetProperty("latest_sync").GetProperty("id").GetString());
        Assert.Equal("running", (await client.GetSyncAsync(alive)).GetProperty("status").GetString());
        Assert.Equal(alive, (await App.LockOfAsync(tenant))!.HolderSyncId);
    }
}
