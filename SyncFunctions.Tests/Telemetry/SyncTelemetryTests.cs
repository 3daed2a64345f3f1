using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Progress;
using SyncFunctions.Telemetry;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Telemetry;

public sealed class SyncTelemetryTests
{
    /// <summary>Collects the engine's finished spans of one tenant (tests run in parallel in one process).</summary>
    private sealed class Spans : IDisposable
    {
        private readonly ActivityListener _listener;

        public Spans(string tenant)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == SyncMetrics.SourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (activity.GetTagItem("tenant.id") as string == tenant)
                    {
                        Stopped.Enqueue(activity);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public ConcurrentQueue<Activity> Stopped { get; } = new();

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task Trace_OfASync_ChildOfTheTriggerRequestWithASpanPerConnectorStep()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var spans = new Spans(tenant);
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 5 });
        var root = folderRoot(app);
        await client.PutConnectionAsync("folder", new { path = root });

        var syncId = await client.TriggerAsync("demo", "folder");
        await client.WaitForEndAsync(syncId);
        await Eventually.MatchAsync(() => Task.FromResult(spans.Stopped.Count(a => a.OperationName == "sync.run")), n => n == 1, "the run span");

        var operation = await app.Get<SyncOperationStore>().GetAsync(tenant, syncId, CancellationToken.None);
        Assert.True(ActivityContext.TryParse(operation!.TraceParent, null, out var trigger), "the trigger's traceparent is stored");
        var run = spans.Stopped.Single(a => a.OperationName == "sync.run");
        Assert.Equal(trigger.TraceId, run.TraceId);
        Assert.Equal(trigger.SpanId, run.ParentSpanId);
        Assert.Equal(syncId, run.GetTagItem("sync.id"));
        Assert.Equal("completed", run.GetTagItem("sync.status"));
        var connectors = spans.Stopped.Where(a => a.OperationName == "sync.connector").ToList();
        var detections = connectors.Where(c => (string?)c.GetTagItem("connector.step") == SyncMetrics.DetectStep);
        Assert.Equal(["demo", "folder"], detections.Select(c => (string)c.GetTagItem("connector")!).Order(StringComparer.Ordinal));
        Assert.Contains(connectors, c => (string?)c.GetTagItem("connector.step") == SyncMetrics.BatchStep && (string?)c.GetTagItem("connector") == "demo");
        Assert.All(connectors, c => Assert.Equal(trigger.TraceId, c.TraceId));
        Assert.All(connectors, c => Assert.Equal(trigger.SpanId, c.ParentSpanId));

        static string folderRoot(SyncApp app)
        {
            var directory = Directory.CreateDirectory(Path.Combine(app.FolderRoot, "docs"));
            File.WriteAllText(Path.Combine(directory.FullName, "a.md"), "# a");
            return "docs";
        }
    }

    [Fact]
    public async Task Metrics_OfASyncWithFailuresAndAConflict_CountItemsRunsAndConflicts()
    {
        await using var app = await SyncApp.StartAsync();
        var measurements = new ConcurrentQueue<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        var meterFactory = app.Get<IMeterFactory>();
        using var listener = new MeterListener
        {
            // Only this app's meter: other tests' apps run in the same process.
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meterFactory) && instrument.Meter.Name == SyncMetrics.SourceName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            measurements.Enqueue((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        listener.Start();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 13, fail_every = 4, hang_after = 12 });

        var syncId = await client.TriggerAsync();
        await client.WaitForSyncAsync(syncId, s => s.GetProperty("files_processed").GetInt32() + s.GetProperty("files_failed").GetInt32() == 12, "every item done");
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync("/api/v1/sync", null)).StatusCode);

        long Sum(string name, string? tag = null, object? value = null) =>
            measurements.Where(m => m.Instrument == name && (tag is null || Equals(m.Tags.GetValueOrDefault(tag), value))).Sum(m => m.Value);
        Assert.Equal(1, Sum("syncfunctions.syncs.started"));
        Assert.Equal(9, Sum("syncfunctions.items.processed", "outcome", "ok"));
        Assert.Equal(3, Sum("syncfunctions.items.processed", "outcome", "failed"));
        Assert.Equal(1, Sum("syncfunctions.lock.conflicts"));

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/sync/{syncId}/cancel", null)).StatusCode);
        await Eventually.MatchAsync(() => Task.FromResult(Sum("syncfunctions.syncs.ended", "status", "cancelled")), n => n == 1, "the end counted");
        Assert.Equal(1, Sum("syncfunctions.syncs.ended"));
    }

    [Fact]
    public async Task Logs_OfARun_CarryTheSyncAndTenantIds()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 3 });

        var syncId = await client.TriggerAsync();
        await app.WaitForLogAsync($"Sync {syncId} completed successfully");

        var line = app.Logs.Entries.Single(e => e.Message == $"Sync {syncId} completed successfully");
        Assert.Equal(syncId, line.Scope["sync_id"]);
        Assert.Equal(tenant, line.Scope["tenant_id"]);
    }
}
