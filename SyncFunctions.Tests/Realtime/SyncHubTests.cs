using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Realtime;

public sealed class SyncHubTests
{
    private static readonly string[] EventNames = ["started", "progress", "complete", "error"];

    /// <summary>A real SignalR client, connected the way the browser client connects: to /api.</summary>
    private static async Task<(HubConnection Connection, ConcurrentQueue<(string Type, JsonElement Data)> Events)> ConnectAsync(SyncApp app, string token, string? syncId = null)
    {
        using var probe = app.CreateClient();
        var url = new Uri(probe.BaseAddress!, syncId is null ? "/api" : $"/api?sync_id={syncId}");
        var events = new ConcurrentQueue<(string, JsonElement)>();
        var connection = new HubConnectionBuilder()
            .WithUrl(url, o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        foreach (var name in EventNames)
        {
            connection.On<JsonElement>(name, data => events.Enqueue((name, data)));
        }

        await connection.StartAsync();
        return (connection, events);
    }

    [Fact]
    public async Task Hub_DuringADemoSync_PushesStartedTheMilestonesInOrderAndExactlyOneComplete()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 40, item_delay_ms = 20 });
        var (mine, events) = await ConnectAsync(app, await app.TokenForAsync(tenant));
        var (theirs, strangerEvents) = await ConnectAsync(app, await app.TokenForAsync(SyncApp.NewTenant()));
        await using var _ = mine;
        await using var __ = theirs;

        var syncId = await client.TriggerAsync();
        await Eventually.MatchAsync(() => Task.FromResult(events.Count(e => e.Type == "complete")), n => n == 1, "the complete event");
        await client.WaitForEndAsync(syncId);

        var received = events.ToList();
        Assert.Equal("started", received[0].Type);
        Assert.Equal("complete", received[^1].Type);
        Assert.Single(received, e => e.Type is "complete" or "error");
        Assert.All(received, e => Assert.Equal(syncId, e.Data.GetProperty("sync_id").GetString()));
        var percents = received.Select(e => e.Data.GetProperty("percent_complete").GetInt32()).ToList();
        Assert.Equal(percents.Order(), percents);
        foreach (var milestone in new[] { 10, 25, 50, 75, 90 })
        {
            Assert.Contains(percents, p => p >= milestone);
        }

        var stages = received.Select(e => e.Data.GetProperty("stage").GetString()).Distinct().ToList();
        Assert.Equal(["initializing", "detecting_changes", "processing_files", "updating_embeddings", "finalizing"], stages);
        Assert.Empty(strangerEvents);
    }

    [Fact]
    public async Task Hub_ConnectedForOneSync_HearsThatSyncOnly()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 5 });
        var first = await client.TriggerAsync();
        await client.WaitForEndAsync(first);
        var (watcher, events) = await ConnectAsync(app, await app.TokenForAsync(tenant), syncId: first);
        var (tenantWide, tenantEvents) = await ConnectAsync(app, await app.TokenForAsync(tenant));
        await using var _ = watcher;
        await using var __ = tenantWide;

        var second = await client.TriggerAsync();

        // Both groups get each event in one send, so once the tenant-wide client has the end, a
        // stray event for the watcher would have arrived too.
        await Eventually.MatchAsync(() => Task.FromResult(tenantEvents.Count(e => e.Type == "complete")), n => n == 1, "the tenant-wide complete");
        Assert.All(tenantEvents, e => Assert.Equal(second, e.Data.GetProperty("sync_id").GetString()));
        Assert.Empty(events);
    }

    [Fact]
    public async Task Hub_WithoutAToken_RefusesTheConnection()
    {
        await using var app = await SyncApp.StartAsync(new Dictionary<string, string?> { });
        using var probe = app.CreateClient();
        var connection = new HubConnectionBuilder().WithUrl(new Uri(probe.BaseAddress!, "/api")).Build();
        await using var _ = connection;

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => connection.StartAsync());
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, error.StatusCode);
    }

    [Fact]
    public async Task Hub_ForATenThousandItemSync_SendsABoundedNumberOfEvents()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 10_000 });
        var (connection, events) = await ConnectAsync(app, await app.TokenForAsync(tenant));
        await using var _ = connection;

        var watch = Stopwatch.StartNew();
        var syncId = await client.TriggerAsync();
        await Eventually.MatchAsync(() => Task.FromResult(events.Count(e => e.Type == "complete")), n => n == 1, "the complete event", TimeSpan.FromSeconds(120));
        watch.Stop();

        // Durable events (started, stage changes, milestones, the end) are a dozen at most; passing
        // progress is at most one per flush interval (1 s), plus the trailing flush.
        var bound = 16 + (2 * (int)Math.Ceiling(watch.Elapsed.TotalSeconds));
        Assert.True(events.Count <= bound, $"{events.Count} events for 10,000 items in {watch.Elapsed.TotalSeconds:F1} s (bound {bound})");
        Assert.Equal(10_000, (await client.GetSyncAsync(syncId)).GetProperty("files_processed").GetInt32());
    }
}
