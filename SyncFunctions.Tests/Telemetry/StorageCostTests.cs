using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Telemetry;
using SyncFunctions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SyncFunctions.Tests.Telemetry;

/// <summary>
/// What one sync costs in storage requests, counted at the Azure SDK pipeline. The breakdown is
/// printed: dotnet test SyncFunctions.Tests --filter StorageCostTests --logger "console;verbosity=detailed".
/// The bound guards against a change that makes a sync suddenly chattier.
/// </summary>
public sealed class StorageCostTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(100, 40)]
    [InlineData(1000, 40)]
    public async Task DemoSync_CostsAFewDozenStorageRequests_WhateverItsSize(int items, int bound)
    {
        // The clock stands still, so the count holds no heartbeats and no once-a-second counter writes:
        // only what every sync of this size costs.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var app = await SyncApp.StartAsync(clock: clock);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items });
        var counter = app.Get<StorageRequestCounter>();

        // The listener is idle-polling; let it settle into its slowest poll before counting.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var before = counter.Snapshot();
        var syncId = await client.TriggerAsync();
        await app.WaitForLogAsync($"Sync {syncId} completed successfully");
        await Eventually.MatchAsync(() => app.Get<SyncFunctions.Locking.TenantLock>().GetAsync(tenant, CancellationToken.None), l => l is null, "the lock release");
        var after = counter.Snapshot();

        var delta = after.ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key)).Where(kv => kv.Value > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var total = delta.Sum(kv => kv.Value);
        output.WriteLine($"one sync of {items} demo items: {total} storage requests");
        foreach (var (key, value) in delta)
        {
            output.WriteLine($"  {key,-14} {value}");
        }

        Assert.True(total <= bound, $"{total} requests for {items} items: {string.Join(", ", delta.Select(kv => $"{kv.Key}={kv.Value}"))}");
    }
}
