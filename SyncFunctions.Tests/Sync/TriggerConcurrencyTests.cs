using System.Net;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Sync;

public sealed class TriggerConcurrencyTests
{
    [Fact]
    public async Task Trigger_FiftyAtOnceForOneTenant_AcceptsExactlyOneAndAnswersTheRestWithTheRunningSync()
    {
        // The accepted sync stays running (it hangs after 2 items) while the others arrive.
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 10, hang_after = 2 });

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.PostAsync("/api/v1/sync", null)));

        var accepted = responses.Where(r => r.StatusCode == HttpStatusCode.Accepted).ToList();
        var conflicts = responses.Where(r => r.StatusCode == HttpStatusCode.Conflict).ToList();
        Assert.Single(accepted);
        Assert.Equal(49, conflicts.Count);
        var syncId = (await accepted[0].JsonAsync()).GetProperty("sync_id").GetString();
        foreach (var conflict in conflicts)
        {
            var body = await conflict.JsonAsync();
            Assert.True(body.GetProperty("conflict").GetBoolean());
            Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
            var latest = body.GetProperty("latest_sync");
            Assert.Equal(syncId, latest.GetProperty("id").GetString());
            Assert.True(latest.GetProperty("progress").TryGetProperty("percentage", out _));
            Assert.True(latest.GetProperty("progress").TryGetProperty("stage", out _));
        }

        var history = await (await client.GetAsync("/api/v1/sync/history?limit=100")).JsonAsync();
        Assert.Single(history.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Trigger_WhileASyncRuns_Returns409WithItsProgress()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 10, hang_after = 4 });
        var syncId = await client.TriggerAsync();
        await client.WaitForSyncAsync(syncId, s => s.GetProperty("files_processed").GetInt32() == 4, "four items processed");

        var response = await client.PostAsync("/api/v1/sync", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var latest = (await response.JsonAsync()).GetProperty("latest_sync");
        Assert.Equal(syncId, latest.GetProperty("id").GetString());
        Assert.Equal("running", latest.GetProperty("status").GetString());
        Assert.Equal("processing_files", latest.GetProperty("progress").GetProperty("stage").GetString());
        Assert.Equal(10, latest.GetProperty("progress").GetProperty("total_files").GetInt32());
    }

    /// <summary>
    /// Two instances on one storage account and task hub, the triggers spread over both: the lock decides
    /// wherever the orchestration runs, so one sync runs and the others see it.
    /// </summary>
    [Fact]
    public async Task Trigger_RacingOnTwoInstances_AcceptsExactlyOne()
    {
        await using var first = await SyncApp.StartAsync();
        await using var second = await SyncApp.StartAsync(prefix: first.Prefix);
        var tenant = SyncApp.NewTenant();
        using var one = await first.ClientForAsync(tenant);
        using var other = await second.ClientForAsync(tenant);
        await one.PutConnectionAsync("demo", new { items = 10, hang_after = 2 });

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? one : other).PostAsync("/api/v1/sync", null)));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Accepted);
        Assert.Equal(19, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        var history = await (await one.GetAsync("/api/v1/sync/history?limit=100")).JsonAsync();
        Assert.Single(history.GetProperty("items").EnumerateArray());
    }
}
