using System.Globalization;
using System.Text.Json;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Connectors;

/// <summary>The demo connector's synthetic failures: counted on their items, never fatal to the sync.</summary>
public sealed class DemoConnectorTests : IAsyncLifetime
{
    private SyncApp _app = null!;

    public async Task InitializeAsync() => _app = await SyncApp.StartAsync();

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task Sync_WithFailEvery_CountsEachFailedItemAndStillCompletes()
    {
        using var client = await _app.ClientForAsync(SyncApp.NewTenant("demo"));
        await client.PutConnectionAsync("demo", new { items = 20, fail_every = 5 });

        var syncId = await client.TriggerAsync("demo");
        var done = await client.WaitForEndAsync(syncId);

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(16, done.GetProperty("files_processed").GetInt32());
        Assert.Equal(4, done.GetProperty("files_failed").GetInt32());
        Assert.Equal(JsonValueKind.Null, done.GetProperty("failure_reason").ValueKind);
        var connector = Assert.Single(done.GetProperty("connectors").EnumerateArray());
        Assert.Equal("completed", connector.GetProperty("status").GetString());
        Assert.Equal(20, connector.GetProperty("total_items").GetInt32());
        Assert.Equal(16, connector.GetProperty("processed_items").GetInt32());
        Assert.Equal(4, connector.GetProperty("failed_items").GetInt32());
        var samples = connector.GetProperty("failure_samples").EnumerateArray()
            .Select(s => (Item: s.GetProperty("item").GetString(), Reason: s.GetProperty("reason").GetString()))
            .OrderBy(s => s.Item, StringComparer.Ordinal)
            .ToList();
        int[] failing = [10, 15, 20, 5]; // ordinal order of "Demo item N of 20"
        Assert.Equal(
            failing.Select(i => ((string?)$"Demo item {i} of 20", (string?)string.Create(CultureInfo.InvariantCulture, $"Synthetic failure of item {i} (fail_every=5)."))),
            samples);

        var status = await (await client.GetAsync("/api/v1/sync/status")).JsonAsync();
        Assert.Equal(syncId, status.GetProperty("latest_sync").GetProperty("id").GetString());
        var files = status.GetProperty("file_status");
        Assert.Equal(4, files.GetProperty("failed").GetInt32());
        Assert.Equal(20, files.GetProperty("total").GetInt32());
        Assert.Equal(0, files.GetProperty("pending").GetInt32());
        Assert.Equal(0, files.GetProperty("processing").GetInt32());

        var progress = await (await client.GetAsync($"/api/sync-progress/{syncId}")).JsonAsync();
        Assert.Equal("complete", progress.GetProperty("status").GetString());
        Assert.Equal(4, progress.GetProperty("failed_items").GetInt32());
        Assert.Equal(16, progress.GetProperty("processed_items").GetInt32());
    }

    [Fact]
    public async Task Sync_WithManyFailures_CountsThemAllButKeepsOnlyAFewSamples()
    {
        using var client = await _app.ClientForAsync(SyncApp.NewTenant("demo"));
        await client.PutConnectionAsync("demo", new { items = 30, fail_every = 2 });

        var syncId = await client.TriggerAsync("demo");
        var done = await client.WaitForEndAsync(syncId);

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(15, done.GetProperty("files_failed").GetInt32());
        Assert.Equal(15, done.GetProperty("files_processed").GetInt32());
        var connector = Assert.Single(done.GetProperty("connectors").EnumerateArray());
        Assert.Equal(15, connector.GetProperty("failed_items").GetInt32());
        var samples = connector.GetProperty("failure_samples").EnumerateArray().ToList();
        Assert.Equal(SyncFunctions.Progress.ConnectorProgress.MaxFailureSamples, samples.Count);
        Assert.All(samples, s =>
        {
            var item = s.GetProperty("item").GetString()!;
            var index = int.Parse(item.Split(' ')[2], CultureInfo.InvariantCulture);
            Assert.Equal(0, index % 2);
            Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"Synthetic failure of item {index} (fail_every=2)."), s.GetProperty("reason").GetString());
        });
    }
}
