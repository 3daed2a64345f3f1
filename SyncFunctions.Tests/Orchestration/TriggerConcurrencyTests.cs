using System.Net;
using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Orchestration;

public sealed class TriggerConcurrencyTests
{
    [Fact]
    public async Task Trigger_FiftyAtOnceForOneTenant_AcceptsExactlyOneAndAnswersTheRestWithTheRunningSync()
    {
        // The clock stands still, so the accepted sync stays running (it hangs after 2 items) while the others arrive.
        using var app = await SyncApp.StartAsync(clock: new FakeTimeProvider(DateTimeOffset.UtcNow));
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
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var app = await SyncApp.StartAsync(clock: clock);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 10, hang_after = 4 });
        var syncId = await client.TriggerAsync();
        await client.WaitForSyncAsync(syncId, clock, s => s.GetProperty("files_processed").GetInt32() == 4, "four items processed");

        var response = await client.PostAsync("/api/v1/sync", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var latest = (await response.JsonAsync()).GetProperty("latest_sync");
        Assert.Equal(syncId, latest.GetProperty("id").GetString());
        Assert.Equal("running", latest.GetProperty("status").GetString());
        Assert.Equal("processing_files", latest.GetProperty("progress").GetProperty("stage").GetString());
        Assert.Equal(10, latest.GetProperty("progress").GetProperty("total_files").GetInt32());
    }
}
