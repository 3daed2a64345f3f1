using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Progress;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Realtime;

public sealed class ProgressStreamTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static async Task<SseReader> OpenAsync(HttpClient client, string syncId, string? lastEventId = null)
    {
        var response = await RequestAsync(client, syncId, lastEventId);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new SseReader(await response.Content.ReadAsStreamAsync());
    }

    /// <summary>A GET of the stream, with <paramref name="lastEventId"/> as a reconnecting EventSource sends it.</summary>
    private static async Task<HttpResponseMessage> RequestAsync(HttpClient client, string syncId, string? lastEventId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/sync-progress/{syncId}/stream");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    [Fact]
    public async Task Stream_DuringASync_SendsEveryEventNamedAndNumberedAndClosesAfterComplete()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 40, item_delay_ms = 20 });
        var syncId = await client.TriggerAsync();

        using var stream = await OpenAsync(client, syncId);
        var events = await stream.ReadToEndAsync(Bound);

        Assert.Equal("started", events[0].Type);
        Assert.Equal("1", events[0].Id);
        Assert.Equal("complete", events[^1].Type);
        Assert.Single(events, e => e.Type is "complete" or "error");
        Assert.All(events, e => Assert.Equal(syncId, e.Data.GetProperty("sync_id").GetString()));
        Assert.All(events.Skip(1).SkipLast(1), e => Assert.Equal("progress", e.Type));
        var ids = events.Select(e => StreamEventId.TryParse(e.Id, out var id) ? id : throw new Xunit.Sdk.XunitException($"bad id {e.Id}")).ToList();
        Assert.True(ids.Zip(ids.Skip(1)).All(p => p.Second.Sequence > p.First.Sequence || (p.Second.Sequence == p.First.Sequence && p.Second.Done > p.First.Done)), string.Join(",", events.Select(e => e.Id)));
        var percents = events.Select(e => e.Data.GetProperty("percent_complete").GetInt32()).ToList();
        Assert.Equal(percents.Order(), percents);
        foreach (var milestone in new[] { 10, 25, 50, 75, 90 })
        {
            Assert.Contains(percents, p => p >= milestone);
        }

        Assert.Equal(["detecting_changes", "processing_files", "updating_embeddings", "finalizing"], events.Where(e => e.Type == "progress").Select(e => e.Data.GetProperty("stage").GetString()).Distinct());
        Assert.Equal(100, percents[^1]);
    }

    [Fact]
    public async Task Stream_ResumedWithLastEventId_SendsExactlyTheEventsAfterIt()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 12 });
        var syncId = await client.TriggerAsync();
        await client.WaitForEndAsync(syncId);

        using var whole = await OpenAsync(client, syncId);
        var all = await whole.ReadToEndAsync(Bound);
        Assert.True(all.Count >= 5, $"{all.Count} events");

        for (var k = 0; k < all.Count - 1; k++)
        {
            using var resumed = await OpenAsync(client, syncId, all[k].Id);
            var rest = await resumed.ReadToEndAsync(Bound);
            Assert.Equal(all.Skip(k + 1).Select(e => e.Id), rest.Select(e => e.Id));
        }
    }

    [Fact]
    public async Task Stream_ReconnectedAfterTheEndEvent_Answers204SoTheClientStops()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 3 });
        var syncId = await client.TriggerAsync();
        await client.WaitForEndAsync(syncId);
        using var whole = await OpenAsync(client, syncId);
        var end = (await whole.ReadToEndAsync(Bound))[^1];

        using var reconnect = await RequestAsync(client, syncId, end.Id);

        Assert.Equal("complete", end.Type);
        Assert.Equal(HttpStatusCode.NoContent, reconnect.StatusCode);
        Assert.Empty(await reconnect.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Stream_OfAnEndedSyncWithNoEventLog_SendsItsFinalStateAsTheEndEventThenAnswers204()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        var ended = DateTimeOffset.UtcNow.AddMinutes(-5);
        var syncId = SyncId.New(ended.AddMinutes(-1));
        await app.Get<SyncOperationStore>().InsertAsync(
            new SyncOperationEntity
            {
                SyncId = syncId,
                TenantId = tenant,
                Status = SyncStatus.Completed,
                Connectors = "demo",
                CreatedAt = SyncId.StartTime(syncId),
                StartedAt = SyncId.StartTime(syncId),
                CompletedAt = ended,
                ProgressStage = SyncStage.Finalizing,
                ProgressPercentage = 100,
                TotalFilesToProcess = 7,
                FilesProcessed = 6,
                FilesFailed = 1,
                Events = "[]", // a row written before the event log existed
            },
            CancellationToken.None);

        using var stream = await OpenAsync(client, syncId);
        var events = await stream.ReadToEndAsync(Bound);
        using var reconnect = await RequestAsync(client, syncId, events[^1].Id);

        var end = Assert.Single(events);
        Assert.Equal("complete", end.Type);
        Assert.Equal("1", end.Id);
        Assert.Equal(6, end.Data.GetProperty("processed_items").GetInt32());
        Assert.Equal(1, end.Data.GetProperty("failed_items").GetInt32());
        Assert.Equal(HttpStatusCode.NoContent, reconnect.StatusCode);
    }

    [Fact]
    public async Task Stream_OpenedOnAnotherInstance_SeesEveryDurableEventOfTheRun()
    {
        await using var runner = await SyncApp.StartAsync();
        await using var reader = await SyncApp.StartAsync(new Dictionary<string, string?> { }, prefix: runner.Prefix);
        var tenant = SyncApp.NewTenant();
        using var runnerClient = await runner.ClientForAsync(tenant);
        using var readerClient = await reader.ClientForAsync(tenant);
        await runnerClient.PutConnectionAsync("demo", new { items = 60, item_delay_ms = 15 });
        var syncId = await runnerClient.TriggerAsync();

        using var stream = await OpenAsync(readerClient, syncId);
        var received = await stream.ReadToEndAsync(Bound);

        var stored = await reader.Get<SyncOperationStore>().GetAsync(tenant, syncId, CancellationToken.None);
        var durable = SyncEventLog.Read(stored!).Select(e => e.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(durable, received.Where(e => !e.Id!.Contains('.', StringComparison.Ordinal)).Select(e => e.Id));
        Assert.Equal("complete", received[^1].Type);
    }

    [Fact]
    public async Task Stream_OfASyncRunningOnThisInstance_SendsItsWritesWithoutWaitingForThePoll()
    {
        // The clock only moves as the test says, and never as far as one poll: every event after the first read
        // can only reach the stream through the run's own wake-ups.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await SyncApp.StartAsync(new Dictionary<string, string?> { ["SYNC_STREAM_POLL_MILLISECONDS"] = "60000" }, clock);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 4, item_delay_ms = 1000 });
        var syncId = await client.TriggerAsync();
        await Eventually.MatchAsync(async () => (await client.GetSyncAsync(syncId)).GetProperty("status").GetString(), s => s == "running", "the sync running");

        using var stream = await OpenAsync(client, syncId);
        var reading = stream.ReadToEndAsync(Bound);
        var advanced = TimeSpan.Zero;
        while (!reading.IsCompleted && advanced < TimeSpan.FromSeconds(20))
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            advanced += TimeSpan.FromSeconds(1);
            await Task.WhenAny(reading, Task.Delay(TimeSpan.FromMilliseconds(200)));
        }

        var events = await reading;
        Assert.Equal("complete", events[^1].Type);
        Assert.Contains(events, e => e.Type == "progress" && e.Data.GetProperty("stage").GetString() == "finalizing");
        Assert.True(advanced < TimeSpan.FromSeconds(60), $"the clock moved {advanced}");
    }

    [Fact]
    public async Task Stream_OfAnotherTenantsSync_Returns404AndNoEvents()
    {
        await using var app = await SyncApp.StartAsync(new Dictionary<string, string?> { });
        using var owner = await app.ClientForAsync(SyncApp.NewTenant());
        using var stranger = await app.ClientForAsync(SyncApp.NewTenant());
        await owner.PutConnectionAsync("demo", new { items = 3 });
        var syncId = await owner.TriggerAsync();

        var response = await stranger.GetAsync($"/api/sync-progress/{syncId}/stream", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Stream_WithTheTokenInTheQuery_IsAcceptedAsEventSourceSendsIt()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 3 });
        var syncId = await client.TriggerAsync();
        await client.WaitForEndAsync(syncId);
        using var anonymous = app.CreateClient();
        var token = client.DefaultRequestHeaders.Authorization!.Parameter;

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/sync-progress/{syncId}/stream")).StatusCode);
        var response = await anonymous.GetAsync($"/api/sync-progress/{syncId}/stream?access_token={token}", HttpCompletionOption.ResponseHeadersRead);
        using var stream = new SseReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("complete", (await stream.ReadToEndAsync(Bound))[^1].Type);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/v1/sync/{syncId}?access_token={token}")).StatusCode);
    }

    [Fact]
    public async Task Stream_WhileNothingHappens_SendsKeepAliveComments()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await SyncApp.StartAsync(clock: clock);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 3, hang_after = 0 });
        var syncId = await client.TriggerAsync(); // stays running: its connector hangs
        using var stream = await OpenAsync(client, syncId);
        using var cancel = new CancellationTokenSource(Bound);
        var started = await stream.ReadAsync(cancel.Token);
        Assert.Equal("started", started?.Type);
        var reading = ReadOnAsync(stream, cancel.Token); // a stage change may come; then only comments

        await Eventually.MatchAsync(
            () =>
            {
                clock.Advance(TimeSpan.FromSeconds(1));
                return Task.FromResult(stream.Comments.Count);
            },
            count => count > 0,
            "a keep-alive comment");

        Assert.Equal(": keep-alive", stream.Comments[0]);
        Assert.False(reading.IsCompleted, "the stream of a running sync stays open");
        await cancel.CancelAsync();

        static async Task ReadOnAsync(SseReader stream, CancellationToken cancellationToken)
        {
            try
            {
                while (await stream.ReadAsync(cancellationToken) is not null)
                {
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The test is done with the stream.
            }
        }
    }
}
