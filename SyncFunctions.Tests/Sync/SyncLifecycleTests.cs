using System.Net;
using System.Net.Http.Json;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Sync;

public sealed class SyncLifecycleTests
{
    [Fact]
    public async Task Trigger_WithDemoConnector_RunsThroughTheStagesAndCompletes()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant, "owner@example.com");
        await client.PutConnectionAsync("demo", new { items = 40 });

        var response = await client.PostAsync("/api/v1/sync", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.JsonAsync();
        var syncId = accepted.GetProperty("sync_id").GetString()!;
        Assert.Equal($"/api/v1/sync/{syncId}", accepted.GetProperty("status_url").GetString());
        Assert.Equal($"/api/sync-progress/{syncId}/stream", accepted.GetProperty("stream_url").GetString());
        // The timeout known when the lock decided: the base until the connector has counted its items, then 300 + 40 × 10.
        Assert.True(accepted.GetProperty("expected_duration_seconds").GetInt32() is 300 or 700);

        var done = await client.WaitForEndAsync(syncId);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(40, done.GetProperty("files_processed").GetInt32());
        Assert.Equal(100, done.GetProperty("progress").GetProperty("percentage").GetInt32());
        Assert.Equal("finalizing", done.GetProperty("progress").GetProperty("stage").GetString());
        Assert.Equal(700, done.GetProperty("expected_duration_seconds").GetInt32()); // 300 + 40 × 10
        Assert.Equal("owner@example.com", done.GetProperty("triggered_by").GetString());

        var status = await (await client.GetAsync("/api/v1/sync/status")).JsonAsync();
        Assert.Equal(syncId, status.GetProperty("latest_sync").GetProperty("id").GetString());
        Assert.Equal(40, status.GetProperty("file_status").GetProperty("total").GetInt32());
        Assert.Equal(0, status.GetProperty("file_status").GetProperty("pending").GetInt32());

        // Once, though the orchestration replays after every step: its logger is replay-safe.
        Assert.Single(app.Logs.Lines, l => l == $"Started sync {syncId} for tenant {tenant} (timeout: 700s)");
        await app.WaitForLogAsync($"Sync {syncId} completed successfully");
        await Eventually.MatchAsync(() => app.LockOfAsync(tenant), l => l is null, "the lock to be released");
    }
}
