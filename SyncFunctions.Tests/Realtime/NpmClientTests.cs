using System.Text.Json;
using SyncFunctions.Progress;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Realtime;

/// <summary>
/// The stream and the hub as clients nobody here wrote see them: the npm <c>eventsource</c> and
/// <c>@microsoft/signalr</c> clients, run by Node scripts (Realtime/Clients) against the running app.
/// </summary>
public sealed class NpmClientTests(SharedSyncApp fixture) : IClassFixture<SharedSyncApp>
{
    private const string SseClient = "SyncFunctions.Tests/Realtime/Clients/sse-client.mjs";
    private const string SignalRClient = "SyncFunctions.Tests/Realtime/Clients/signalr-client.mjs";
    private static readonly TimeSpan ClientBound = TimeSpan.FromSeconds(60);

    private SyncApp App => fixture.App;

    [Fact]
    public async Task EventSource_FollowingASyncToItsEnd_GetsEveryEventInOrderThenStopsOnThe204()
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 30, item_delay_ms = 30, fail_every = 7 });
        var syncId = await client.TriggerAsync();

        var lines = await FollowStreamAsync(syncId, await App.TokenForAsync(tenant));

        var events = Events(lines);
        Assert.Equal("started", events[0].GetProperty("event").GetString());
        AssertEndsOnceAndStops(lines, events);
        await AssertFinalCountsMatchTheStatusApiAsync(client, syncId, events[^1]);
    }

    [Fact]
    public async Task EventSource_OpenedOnASyncThatHasEnded_GetsItsEventsToTheEndThenStopsOnThe204()
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 12, fail_every = 5 });
        var syncId = await client.TriggerAsync();
        await client.WaitForEndAsync(syncId);

        var lines = await FollowStreamAsync(syncId, await App.TokenForAsync(tenant));

        AssertEndsOnceAndStops(lines, Events(lines));
        await AssertFinalCountsMatchTheStatusApiAsync(client, syncId, Events(lines)[^1]);
    }

    [Fact]
    public async Task SignalRClient_OfEachTenant_HearsItsOwnTenantsSyncsAndNoneOfTheOthers()
    {
        var tenantA = SyncApp.NewTenant("a");
        var tenantB = SyncApp.NewTenant("b");
        using var clientA = await App.ClientForAsync(tenantA);
        using var clientB = await App.ClientForAsync(tenantB);
        // About 4 s (4 items at a time): the per-sync clients, which can only join once the trigger named the
        // sync, join while it runs (a join takes tens of milliseconds).
        await clientA.PutConnectionAsync("demo", new { items = 40, item_delay_ms = 400 });
        await clientB.PutConnectionAsync("demo", new { items = 5 });
        await using var script = NodeScript.Start(
            SignalRClient,
            new Dictionary<string, string>
            {
                ["SYNC_BASE_URL"] = App.BaseAddress.ToString().TrimEnd('/'),
                ["TOKEN_A"] = await App.TokenForAsync(tenantA),
                ["TOKEN_B"] = await App.TokenForAsync(tenantB),
                ["CLIENT_TIMEOUT_MS"] = ClientBound.TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            ClientBound + TimeSpan.FromSeconds(5));

        var (_, beforeReady) = await script.ReadUntilAsync("ready");
        var syncA = await clientA.TriggerAsync();
        await script.SendAsync(new { a_sync = syncA });
        await script.ReadUntilAsync("a_ended");
        var syncB = await clientB.TriggerAsync();
        await script.SendAsync(new { b_sync = syncB });
        var lines = await script.ReadToExitAsync();

        var refused = Assert.Single(beforeReady, l => l.GetProperty("type").GetString() == "refused");
        Assert.Contains("Status code '401'", refused.GetProperty("message").GetString(), StringComparison.Ordinal);
        var heard = lines.Where(l => l.GetProperty("type").GetString() == "heard")
            .ToDictionary(l => l.GetProperty("connection").GetString()!, l => l.GetProperty("events").EnumerateArray().ToList());
        Assert.Equal("done", lines[^1].GetProperty("type").GetString());

        var a = heard["a"];
        Assert.All(a, e => Assert.Equal(syncA, e.GetProperty("sync_id").GetString()));
        Assert.Equal("started", a[0].GetProperty("event").GetString());
        Assert.Equal("complete", a[^1].GetProperty("event").GetString());
        Assert.Single(a, e => e.GetProperty("event").GetString() is "complete" or "error");
        var percents = a.Select(e => e.GetProperty("percent").GetInt32()).ToList();
        Assert.Equal(percents.Order(), percents);

        // A's per-sync client joined after B's asked for the same sync, and heard A's end: B's was there to hear it.
        Assert.Equal("complete", heard["a_sync"][^1].GetProperty("event").GetString());
        Assert.All(heard["a_sync"], e => Assert.Equal(syncA, e.GetProperty("sync_id").GetString()));
        Assert.Empty(heard["b_spy"]);

        var b = heard["b"];
        Assert.All(b, e => Assert.Equal(syncB, e.GetProperty("sync_id").GetString()));
        Assert.Equal("complete", b[^1].GetProperty("event").GetString());
    }

    /// <summary>Runs the eventsource client on the sync's stream until it stops by itself; returns what it reported.</summary>
    private async Task<IReadOnlyList<JsonElement>> FollowStreamAsync(string syncId, string token)
    {
        await using var script = NodeScript.Start(
            SseClient,
            new Dictionary<string, string>
            {
                ["SYNC_BASE_URL"] = App.BaseAddress.ToString().TrimEnd('/'),
                ["SYNC_TOKEN"] = token,
                ["SYNC_ID"] = syncId,
                ["CLIENT_TIMEOUT_MS"] = ClientBound.TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            ClientBound + TimeSpan.FromSeconds(5));
        return await script.ReadToExitAsync();
    }

    private static List<JsonElement> Events(IReadOnlyList<JsonElement> lines) =>
        lines.Where(l => l.GetProperty("type").GetString() == "event").ToList();

    /// <summary>
    /// Event ids only go forward, one end event comes last, and then the client made exactly one more
    /// request, with the end's id as Last-Event-ID, was answered 204 and closed itself (readyState 2).
    /// </summary>
    private static void AssertEndsOnceAndStops(IReadOnlyList<JsonElement> lines, List<JsonElement> events)
    {
        var all = string.Join('\n', lines.Select(l => l.GetRawText()));
        var ids = events.Select(e => StreamEventId.TryParse(e.GetProperty("id").GetString(), out var id) ? id : throw new Xunit.Sdk.XunitException($"bad id in {all}")).ToList();
        Assert.True(ids.Zip(ids.Skip(1)).All(p => p.Second.Sequence > p.First.Sequence || (p.Second.Sequence == p.First.Sequence && p.Second.Done > p.First.Done)), all);
        Assert.Single(events, e => e.GetProperty("event").GetString() is "complete" or "error");
        Assert.Equal("complete", events[^1].GetProperty("event").GetString());

        var requests = lines.Where(l => l.GetProperty("type").GetString() == "request")
            .Select(l => (LastEventId: l.GetProperty("last_event_id").GetString(), Status: l.GetProperty("status").GetInt32()))
            .ToList();
        Assert.Equal(new List<(string?, int)> { (null, 200), (events[^1].GetProperty("id").GetString(), 204) }, requests);
        Assert.Contains(lines, l => l.GetProperty("type").GetString() == "connection_error" && l.GetProperty("code") is { ValueKind: JsonValueKind.Number } code && code.GetInt32() == 204);
        Assert.Equal("stopped", lines[^1].GetProperty("type").GetString());
        Assert.Equal(2, lines[^1].GetProperty("ready_state").GetInt32());
    }

    private static async Task AssertFinalCountsMatchTheStatusApiAsync(HttpClient client, string syncId, JsonElement end)
    {
        var data = end.GetProperty("data");
        var sync = await client.GetSyncAsync(syncId);
        Assert.Equal(syncId, data.GetProperty("sync_id").GetString());
        Assert.Equal(sync.GetProperty("files_processed").GetInt32(), data.GetProperty("processed_items").GetInt32());
        Assert.Equal(sync.GetProperty("files_failed").GetInt32(), data.GetProperty("failed_items").GetInt32());
        Assert.True(data.GetProperty("failed_items").GetInt32() > 0, "the demo's fail_every made some items fail");
        Assert.Equal(sync.GetProperty("progress").GetProperty("total_files").GetInt32(), data.GetProperty("total_items").GetInt32());
        Assert.Equal(sync.GetProperty("progress").GetProperty("percentage").GetInt32(), data.GetProperty("percent_complete").GetInt32());
    }
}
