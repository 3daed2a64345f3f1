using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Telemetry;
using SyncFunctions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SyncFunctions.Tests.Telemetry;

/// <summary>
/// What one sync costs in storage requests, counted at the Azure SDK pipeline. The breakdown is
/// printed: dotnet test SyncFunctions.Tests --filter StorageCostTests --logger "console;verbosity=detailed".
/// The bound guards against a change that makes a sync suddenly chattier. The queue is worked here as
/// the listener works it (receive, run, delete) through the app's own counted clients, so idle polling
/// does not blur the count.
/// </summary>
public sealed class StorageCostTests(ITestOutputHelper output)
{
    // Table PUTs: the claim, the lock's renewal, one per later stage (detecting changes, processing with the
    // totals and expected duration, updating embeddings, finalizing) and the end. Milestones and the
    // connector's completion ride on those writes instead of adding their own (they were 11 PUTs).
    [Theory]
    [InlineData(100, 40, 7)]
    [InlineData(1000, 40, 7)]
    public async Task DemoSync_CostsAFewDozenStorageRequests_WhateverItsSize(int items, int bound, int tablePuts)
    {
        // The clock stands still, so the count holds no heartbeats and no once-a-second counter writes:
        // only what every sync of this size costs.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var app = await SyncApp.StartAsync(new Dictionary<string, string?> { ["SYNC_DISABLE_LOCAL_DRIVERS"] = "true" }, clock);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items });
        var counter = app.Get<StorageRequestCounter>();
        var queue = app.Storage.RunQueue;

        var before = counter.Snapshot();
        var syncId = await client.TriggerAsync();
        var message = (await queue.ReceiveMessageAsync(TimeSpan.FromMinutes(1))).Value;
        var outcome = await app.Get<SyncFunctions.Functions.SyncRunFunction>()
            .InvokeAsync(message.MessageText, message.MessageId, message.DequeueCount, new NoLease(), CancellationToken.None);
        Assert.Equal(SyncFunctions.Orchestration.RunDisposition.Done, outcome.Disposition);
        await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
        var after = counter.Snapshot();
        Assert.Equal("completed", (await client.GetSyncAsync(syncId)).GetProperty("status").GetString());

        var delta = after.ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key)).Where(kv => kv.Value > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var total = delta.Sum(kv => kv.Value);
        output.WriteLine($"one sync of {items} demo items: {total} storage requests");
        foreach (var (key, value) in delta)
        {
            output.WriteLine($"  {key,-14} {value}");
        }

        Assert.True(total <= bound, $"{total} requests for {items} items: {string.Join(", ", delta.Select(kv => $"{kv.Key}={kv.Value}"))}");
        Assert.True(delta.Single(kv => kv.Key == "table PUT").Value <= tablePuts, string.Join(", ", delta.Select(kv => $"{kv.Key}={kv.Value}")));
    }

    /// <summary>The run's heartbeats never fire here (the clock stands still), so nothing extends the message.</summary>
    private sealed class NoLease : SyncFunctions.Orchestration.IRunMessageLease
    {
        public Task ExtendAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
