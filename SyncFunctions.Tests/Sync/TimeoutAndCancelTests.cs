using System.Net;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Sync;

/// <summary>The orchestration's own layers of cleanup: its durable timer at the adaptive deadline, and cancel.</summary>
public sealed class TimeoutAndCancelTests
{
    /// <summary>A 3 s adaptive timeout (base 3, nothing per item) and a sweep that never runs: only the orchestration's timer can end it.</summary>
    private static readonly Dictionary<string, string?> ShortTimeout = new()
    {
        ["SYNC_BASE_TIMEOUT_SECONDS"] = "3",
        ["SYNC_PER_FILE_TIMEOUT_SECONDS"] = "0",
        ["SYNC_MIN_TIMEOUT_SECONDS"] = "3",
        ["SYNC_HEARTBEAT_INTERVAL_SECONDS"] = "1",
        ["SYNC_CLEANUP_INTERVAL_SECONDS"] = "86400",
    };

    [Fact]
    public async Task Run_WhenTheConnectorHangs_TimesOutByItsAdaptiveTimeout()
    {
        await using var app = await SyncApp.StartAsync(ShortTimeout);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 10, hang_after = 3 });
        var syncId = await client.TriggerAsync();

        var done = await client.WaitForEndAsync(syncId, TimeSpan.FromSeconds(60));

        Assert.Equal("failed", done.GetProperty("status").GetString());
        Assert.Equal("timed_out", done.GetProperty("failure_reason").GetString());
        Assert.Equal(3, done.GetProperty("expected_duration_seconds").GetInt32());
        Assert.Equal(3, done.GetProperty("files_processed").GetInt32());
        await app.WaitForLogAsync($"Started sync {syncId} for tenant {tenant} (timeout: 3s)");
        await app.WaitForLogAsync($"Sync {syncId} timed out");
        await Eventually.MatchAsync(() => app.LockOfAsync(tenant), l => l is null, "the lock to be released");
        var client2 = await app.DurableClientAsync();
        var instance = await client2.WaitForInstanceCompletionAsync(syncId, getInputsAndOutputs: false, new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        Assert.Equal(Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
    }

    [Fact]
    public async Task Cancel_WhileRunning_EndsTheSyncReleasesTheTenantAndStopsTheRun()
    {
        await using var app = await SyncApp.StartAsync(new Dictionary<string, string?> { ["SYNC_HEARTBEAT_INTERVAL_SECONDS"] = "1" });
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant, "canceller@example.com");
        await client.PutConnectionAsync("demo", new { items = 10, hang_after = 2 });
        var syncId = await client.TriggerAsync();
        await client.WaitForSyncAsync(syncId, s => s.GetProperty("files_processed").GetInt32() == 2, "two items processed");

        var response = await client.PostAsync($"/api/v1/sync/{syncId}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cancelled = await response.JsonAsync();
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal("cancelled_by_user", cancelled.GetProperty("failure_reason").GetString());
        Assert.Contains("canceller@example.com", cancelled.GetProperty("error_message").GetString(), StringComparison.Ordinal);
        var durable = await app.DurableClientAsync();
        var instance = await durable.WaitForInstanceCompletionAsync(syncId, getInputsAndOutputs: true, new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        Assert.Equal("cancelled", instance.ReadOutputAs<SyncFunctions.Sync.SyncOutcome>()!.Status);
        Assert.Equal("cancelled", (await client.GetSyncAsync(syncId)).GetProperty("status").GetString());

        var again = await client.PostAsync($"/api/v1/sync/{syncId}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
        await Eventually.MatchAsync(() => app.LockOfAsync(tenant), l => l is null, "the lock to be released");
        await client.TriggerAsync(); // the tenant is free again
    }

    [Fact]
    public async Task Cancel_OfAnUnknownSync_Returns404()
    {
        await using var app = await SyncApp.StartAsync();
        using var client = await app.ClientForAsync(SyncApp.NewTenant());
        var response = await client.PostAsync($"/api/v1/sync/{SyncFunctions.Progress.SyncId.New(DateTimeOffset.UtcNow)}/cancel", null);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
