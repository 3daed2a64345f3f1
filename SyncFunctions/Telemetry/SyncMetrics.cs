using System.Diagnostics;
using System.Diagnostics.Metrics;
using SyncFunctions.Progress;

namespace SyncFunctions.Telemetry;

/// <summary>
/// The sync engine's own traces and metrics. One <c>sync.run</c> span per run of a sync, parented on
/// the trace of the request that triggered it (its traceparent is stored on the operation, so a run
/// resumed on another instance after a redelivery joins the same trace), with a <c>sync.connector</c>
/// child span per connector. Metrics describe what operators watch: syncs started and ended (by
/// status and reason), their duration, items processed, active runs, syncs swept, lock conflicts.
/// </summary>
public sealed class SyncMetrics
{
    public const string SourceName = "SyncFunctions";

    public static readonly ActivitySource Source = new(SourceName);

    private readonly Counter<long> _started;
    private readonly Counter<long> _ended;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _items;
    private readonly Counter<long> _swept;
    private readonly Counter<long> _conflicts;

    public SyncMetrics(IMeterFactory meters, Orchestration.RunningSyncs running)
    {
        var meter = meters.Create(SourceName);
        _started = meter.CreateCounter<long>("syncfunctions.syncs.started", description: "Sync runs started (a resumed run counts again).");
        _ended = meter.CreateCounter<long>("syncfunctions.syncs.ended", description: "Syncs that reached an end state, by status (completed, failed, cancelled) and failure reason (timed_out, stuck, …).");
        _duration = meter.CreateHistogram<double>("syncfunctions.sync.duration", unit: "s", description: "From the start of a sync to its end.");
        _items = meter.CreateCounter<long>("syncfunctions.items.processed", description: "Items processed, by connector and outcome (ok, failed).");
        _swept = meter.CreateCounter<long>("syncfunctions.syncs.swept", description: "Stuck or timed-out syncs failed by the sweep or the cleanup endpoint.");
        _conflicts = meter.CreateCounter<long>("syncfunctions.lock.conflicts", description: "Triggers answered 409 because the tenant was busy.");
        meter.CreateObservableUpDownCounter("syncfunctions.syncs.active", () => running.Count, description: "Sync runs in this instance now.");
    }

    public void RunStarted(int attempt) => _started.Add(1, new KeyValuePair<string, object?>("attempt", attempt > 1 ? "resumed" : "first"));

    public void Ended(SyncOperationEntity operation)
    {
        var status = new KeyValuePair<string, object?>("status", operation.Status);
        var reason = new KeyValuePair<string, object?>("reason", operation.FailureReason ?? "none");
        _ended.Add(1, status, reason);
        if (operation is { StartedAt: { } started, CompletedAt: { } completed })
        {
            _duration.Record((completed - started).TotalSeconds, status);
        }
    }

    public void ItemProcessed(string connector, bool failed) =>
        _items.Add(1, new KeyValuePair<string, object?>("connector", connector), new KeyValuePair<string, object?>("outcome", failed ? "failed" : "ok"));

    public void Swept(int count)
    {
        if (count > 0)
        {
            _swept.Add(count);
        }
    }

    public void LockConflict() => _conflicts.Add(1);

    /// <summary>The run's span, a child of the trace that triggered the sync when its traceparent is known.</summary>
    public static Activity? StartRun(SyncOperationEntity operation)
    {
        ActivityContext.TryParse(operation.TraceParent, null, out var parent);
        var activity = Source.StartActivity("sync.run", ActivityKind.Consumer, parent);
        activity?.SetTag("sync.id", operation.SyncId);
        activity?.SetTag("tenant.id", operation.TenantId);
        activity?.SetTag("sync.attempt", operation.RunAttempt);
        activity?.SetTag("sync.connectors", operation.Connectors);
        return activity;
    }

    public static Activity? StartConnector(string syncId, string tenantId, string connector)
    {
        var activity = Source.StartActivity("sync.connector");
        activity?.SetTag("sync.id", syncId);
        activity?.SetTag("tenant.id", tenantId);
        activity?.SetTag("connector", connector);
        return activity;
    }
}

/// <summary>Counts every end, whoever wrote it: the run, the sweep, a cancel, a poisoned message.</summary>
public sealed class SyncMetricsEndListener(SyncMetrics metrics) : ISyncEndListener
{
    public Task OnSyncEndedAsync(SyncOperationEntity ended, CancellationToken cancellationToken)
    {
        metrics.Ended(ended);
        return Task.CompletedTask;
    }
}
