using System.Net;
using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Locking;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Orchestration;

public sealed class TimeoutAndCancelTests
{
    [Fact]
    public async Task Run_WhenTheConnectorHangs_TimesOutByItsAdaptiveTimeout()
    {
        // The clock jumps past the sweep interval too; the sweep must not get to the sync first, or the
        // test would show the backstop, not the run's own timeout.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var app = await SyncApp.StartAsync(new Dictionary<string, string?> { ["SYNC_CLEANUP_INTERVAL_SECONDS"] = "86400" }, clock);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 10, hang_after = 3 });
        var syncId = await client.TriggerAsync();
        var stalled = await client.WaitForSyncAsync(syncId, clock, s => s.GetProperty("files_processed").GetInt32() == 3, "three items processed");
        Assert.Equal(400, stalled.GetProperty("expected_duration_seconds").GetInt32()); // 300 + 10 × 10

        clock.Advance(TimeSpan.FromSeconds(399 - 5));
        Assert.Equal("running", (await client.GetSyncAsync(syncId)).GetProperty("status").GetString());
        clock.Advance(TimeSpan.FromSeconds(10));

        var done = await client.WaitForEndAsync(syncId);
        Assert.Equal("failed", done.GetProperty("status").GetString());
        Assert.Equal("timed_out", done.GetProperty("failure_reason").GetString());
        Assert.Equal(3, done.GetProperty("files_processed").GetInt32());
        await app.WaitForLogAsync($"Sync {syncId} timed out");
        await Eventually.MatchAsync(() => app.Get<TableTenantLock>().GetAsync(tenant, CancellationToken.None), l => l is null, "the lock to be released");
    }

    [Fact]
    public async Task Cancel_WhileRunning_EndsTheSyncReleasesTheTenantAndStopsTheRun()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var app = await SyncApp.StartAsync(clock: clock);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant, "canceller@example.com");
        await client.PutConnectionAsync("demo", new { items = 10, hang_after = 2 });
        var syncId = await client.TriggerAsync();
        await client.WaitForSyncAsync(syncId, clock, s => s.GetProperty("files_processed").GetInt32() == 2, "two items processed");

        var response = await client.PostAsync($"/api/v1/sync/{syncId}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cancelled = await response.JsonAsync();
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal("cancelled_by_user", cancelled.GetProperty("failure_reason").GetString());
        Assert.Contains("canceller@example.com", cancelled.GetProperty("error_message").GetString(), StringComparison.Ordinal);
        await Eventually.MatchAsync(() => Task.FromResult(app.Get<SyncFunctions.Orchestration.RunningSyncs>().Count), c => c == 0, "the run to stop");
        Assert.Equal("cancelled", (await client.GetSyncAsync(syncId)).GetProperty("status").GetString());

        var again = await client.PostAsync($"/api/v1/sync/{syncId}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
        await client.TriggerAsync(); // the tenant is free again
    }

    [Fact]
    public async Task Cancel_OfAnUnknownSync_Returns404()
    {
        using var app = await SyncApp.StartAsync(new Dictionary<string, string?> { ["SYNC_DISABLE_LOCAL_DRIVERS"] = "true" });
        using var client = await app.ClientForAsync(SyncApp.NewTenant());
        var response = await client.PostAsync($"/api/v1/sync/{SyncFunctions.Progress.SyncId.New(DateTimeOffset.UtcNow)}/cancel", null);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
