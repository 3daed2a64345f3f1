using System.Net;
using System.Text.Json;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Api;

/// <summary>Every surface that shows a sync's progress shows the same numbers for the same moment.</summary>
public sealed class ProgressAgreementTests(SharedSyncApp fixture) : IClassFixture<SharedSyncApp>
{
    private sealed record Figures(string? Stage, int Percentage, int Total, int Processed, int Failed, bool HasEstimate);

    private static Figures FromSync(JsonElement sync)
    {
        var progress = sync.GetProperty("progress");
        return new Figures(
            progress.GetProperty("stage").GetString(),
            progress.GetProperty("percentage").GetInt32(),
            progress.GetProperty("total_files").GetInt32(),
            sync.GetProperty("files_processed").GetInt32(),
            sync.GetProperty("files_failed").GetInt32(),
            sync.GetProperty("estimated_seconds_remaining").ValueKind == JsonValueKind.Number);
    }

    private static Figures FromSnapshot(JsonElement snapshot) => new(
        snapshot.GetProperty("stage").GetString(),
        snapshot.GetProperty("percent_complete").GetInt32(),
        snapshot.GetProperty("total_items").GetInt32(),
        snapshot.GetProperty("processed_items").GetInt32(),
        snapshot.GetProperty("failed_items").GetInt32(),
        snapshot.GetProperty("estimated_seconds_remaining").ValueKind == JsonValueKind.Number);

    private static int Done(JsonElement snapshot) => snapshot.GetProperty("processed_items").GetInt32() + snapshot.GetProperty("failed_items").GetInt32();

    /// <summary>A sync stalled after four of its twenty items (20 %, where the old stage bands said 25 %) holds still, so every read below is of one moment.</summary>
    [Fact]
    public async Task ConflictStatusProgressAndStream_OfAStalledSync_ShowTheSameItemBasedProgress()
    {
        var tenant = SyncApp.NewTenant("agree");
        using var client = await fixture.App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 20, fail_every = 4, hang_after = 4 });
        var syncId = await client.TriggerAsync();
        try
        {
            await client.WaitForSyncAsync(syncId, s => s.GetProperty("files_processed").GetInt32() + s.GetProperty("files_failed").GetInt32() == 4, "four of twenty items done");

            var conflictResponse = await client.PostAsync("/api/v1/sync", null);
            Assert.Equal(HttpStatusCode.Conflict, conflictResponse.StatusCode);
            var conflict = await conflictResponse.JsonAsync();
            var status = await (await client.GetAsync("/api/v1/sync/status")).JsonAsync();
            var byId = await client.GetSyncAsync(syncId);
            var progressResponse = await client.GetAsync($"/api/sync-progress/{syncId}");
            Assert.Equal(HttpStatusCode.OK, progressResponse.StatusCode);
            var progress = await progressResponse.JsonAsync();
            var streamed = await LatestStreamedSnapshotAsync(client, syncId, done: 4);

            var expected = FromSync(byId);
            Assert.Equal(new Figures("processing_files", 20, 20, expected.Processed, expected.Failed, HasEstimate: true), expected);
            Assert.Equal(4, expected.Processed + expected.Failed);
            Assert.Equal(expected, FromSync(conflict.GetProperty("latest_sync")));
            Assert.Equal(expected, FromSync(status.GetProperty("latest_sync")));
            Assert.Equal(expected, FromSnapshot(progress));
            Assert.Equal(expected, FromSnapshot(streamed));
            Assert.Contains("(20% processing_files, 4 of 20 items done)", conflict.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await client.PostAsync($"/api/v1/sync/{syncId}/cancel", null);
        }
    }

    [Fact]
    public async Task StatusAndProgress_OfACompletedSync_AreAHundredPercentWithNoEstimate()
    {
        var tenant = SyncApp.NewTenant("agree");
        using var client = await fixture.App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 6, fail_every = 3 });
        var syncId = await client.TriggerAsync();
        await client.WaitForEndAsync(syncId);

        var sync = FromSync(await client.GetSyncAsync(syncId));
        var progress = FromSnapshot(await (await client.GetAsync($"/api/sync-progress/{syncId}")).JsonAsync());

        Assert.Equal(new Figures("finalizing", 100, 6, 4, 2, HasEstimate: false), sync);
        Assert.Equal(sync, progress);
    }

    /// <summary>The stream's events until one shows <paramref name="done"/> items done: the snapshot it sends of the row as it is now.</summary>
    private static async Task<JsonElement> LatestStreamedSnapshotAsync(HttpClient client, string syncId, int done)
    {
        using var response = await client.GetAsync($"/api/sync-progress/{syncId}/stream", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (await reader.ReadAsync(bound.Token) is { } e)
        {
            if (Done(e.Data) == done)
            {
                return e.Data;
            }
        }

        throw new Xunit.Sdk.XunitException($"The stream closed before an event showed {done} items done.");
    }
}
