using System.Net;
using System.Text.Json;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Sync;

/// <summary>
/// kill -9 of the local host (a real process on the real Durable engine) at three points of a sync,
/// then a new process on the same storage and task hub: every sync of the tenant ends, completed or
/// failed with a reason, within the stale window plus one sweep (here 5 s and every 2 s, plus the
/// restart), the tenant is free again, and no item is counted twice.
/// </summary>
public sealed class CrashRecoveryTests
{
    private const int Items = 200;

    /// <summary>A short stale window and a frequent sweep; the demo items take about 5 s in all.</summary>
    private static readonly Dictionary<string, string> Settings = new()
    {
        ["SYNC_HEARTBEAT_INTERVAL_SECONDS"] = "1",
        ["SYNC_STALE_AFTER_SECONDS"] = "5",
        ["SYNC_SWEEP_SCHEDULE"] = "*/2 * * * * *",
        ["SYNC_PROGRESS_FLUSH_MILLISECONDS"] = "200",
    };

    /// <summary>The stale window plus one sweep, plus the restart and the Durable backend's own pace, with room for a loaded machine.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Kill_DuringAConnectorActivity_TheSyncEndsAndTheTenantIsFree()
    {
        var tenant = SyncApp.NewTenant("kill");
        await using var first = await LocalHostProcess.StartAsync(Settings);
        using var client = await first.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = Items, item_delay_ms = 100 });
        var syncId = await client.TriggerAsync();
        await client.WaitForSyncAsync(syncId, s => s.GetProperty("files_processed").GetInt32() > 0, "items being processed");

        await first.KillAsync();
        await AssertRecoveredAsync(first.Prefix, tenant);
    }

    [Fact]
    public async Task Kill_RightAfterTheTrigger_TheSyncEndsAndTheTenantIsFree()
    {
        var tenant = SyncApp.NewTenant("kill");
        await using var first = await LocalHostProcess.StartAsync(Settings);
        using var client = await first.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = Items, item_delay_ms = 100 });
        await client.TriggerAsync();

        await first.KillAsync();
        await AssertRecoveredAsync(first.Prefix, tenant);
    }

    [Fact]
    public async Task Kill_WhileTheLockIsBeingTaken_NoSyncStaysRunningAndTheTenantIsFree()
    {
        var tenant = SyncApp.NewTenant("kill");
        await using var first = await LocalHostProcess.StartAsync(Settings);
        using var client = await first.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = Items, item_delay_ms = 100 });

        // The trigger is on its way (scheduled, the lock being decided) when the process dies.
        var trigger = client.PostAsync("/api/v1/sync", null);
        await Task.WhenAny(trigger, Task.Delay(TimeSpan.FromMilliseconds(150)));
        await first.KillAsync();
        await Assert.ThrowsAnyAsync<Exception>(async () => (await trigger).EnsureSuccessStatusCode());

        await AssertRecoveredAsync(first.Prefix, tenant);
    }

    /// <summary>A new process on the same storage and hub: every sync of the tenant has ended properly and a new one can start.</summary>
    private static async Task AssertRecoveredAsync(string prefix, string tenant)
    {
        await using var second = await LocalHostProcess.StartAsync(Settings, prefix);
        using var client = await second.ClientForAsync(tenant);

        var history = await Eventually.MatchAsync(
            async () => (await (await client.GetAsync("/api/v1/sync/history?limit=100")).JsonAsync()).GetProperty("items").EnumerateArray().ToList(),
            items => items.All(Ended),
            "every sync of the tenant to end",
            Bound);
        foreach (var sync in history)
        {
            var status = sync.GetProperty("status").GetString();
            var done = sync.GetProperty("files_processed").GetInt32() + sync.GetProperty("files_failed").GetInt32();
            Assert.True(done <= Items, $"sync {sync.GetProperty("id")} counted {done} items of {Items}");
            if (status == "completed")
            {
                Assert.Equal(Items, done);
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(sync.GetProperty("failure_reason").GetString()), $"sync {sync.GetProperty("id")} {status} without a reason");
            }
        }

        // The tenant is free: a new sync is accepted (a 409 would name a holder left behind).
        var accepted = await Eventually.MatchAsync(
            async () => (await client.PostAsync("/api/v1/sync", null)).StatusCode,
            code => code == HttpStatusCode.Accepted,
            "a new sync of the tenant to be accepted",
            Bound);
        Assert.Equal(HttpStatusCode.Accepted, accepted);
    }

    private static bool Ended(JsonElement sync) => sync.GetProperty("status").GetString() is "completed" or "failed" or "cancelled";
}
