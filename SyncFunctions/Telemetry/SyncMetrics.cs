using System.Diagnostics;
using System.Diagnostics.Metrics;
using SyncFunctions.Progress;

namespace SyncFunctions.Telemetry;

/// <summary>
/// The sync engine's own traces and metrics. One <c>sync.run</c> span per run of a sync, parented on
/// the trace of the request that triggered it (its traceparent is stored on the operation, so a run
/// resumed on another instance after a redelivery joins the same trace), with a <c>sync.connector</c>
/// child span per step of a connector (its detection, each batch; tag <c>connector.step</c>). Metrics describe what operators watch: syncs started and ended (by
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

    private int _active;

    public SyncMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(SourceName);
        _started = meter.CreateCounter<long>("syncfunctions.syncs.started", description: "Sync runs started (a resumed run counts again).");
        _ended = meter.CreateCounter<long>("syncfunctions.syncs.ended", description: "Syncs that reached an end state, by status (completed, failed, cancelled) and failure reason (timed_out, stuck, …).");
        _duration = meter.CreateHistogram<double>("syncfunctions.sync.duration", unit: "s", description: "From the start of a sync to its end.");
        _items = meter.CreateCounter<long>("syncfunctions.items.processed", description: "Items processed, by connector and outcome (ok, failed).");
        _swept = meter.CreateCounter<long>("syncfunctions.syncs.swept", description: "Stuck or timed-out syncs failed by the sweep or the cleanup endpoint.");
        _conflicts = meter.CreateCounter<long>("syncfunctions.lock.conflicts", description: "Triggers answered 409 because the tenant was busy.");
        meter.CreateObservableUpDownCounter("syncfunctions.syncs.active", () => Volatile.Read(ref _active), description: "Connector activities running in this instance now.");
    }

    /// <summary>A connector activity runs in this instance until the returned handle is disposed.</summary>
    public IDisposable ConnectorRunning()
    {
        Interlocked.Increment(ref _active);
        return new Running(this);
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
    /// <summary>
    /// The sync's span, written when it ends: from its start to its end, a child of the request that
    /// triggered it (its stored traceparent). A sync's activities run in several processes, so no one
    /// process holds it open; its connectors' spans are children of the same request.
    /// </summary>
    public static void RecordRun(SyncOperationEntity ended)
    {
        ArgumentNullException.ThrowIfNull(ended);
        ActivityContext.TryParse(ended.TraceParent, null, out var parent);
        using var activity = Source.StartActivity("sync.run", ActivityKind.Consumer, parent, startTime: ended.StartedAt ?? ended.CreatedAt);
        activity?.SetTag("sync.id", ended.SyncId);
        activity?.SetTag("tenant.id", ended.TenantId);
        activity?.SetTag("sync.connectors", ended.Connectors);
        activity?.SetTag("sync.status", ended.Status);
        activity?.SetTag("sync.failure_reason", ended.FailureReason);
        if (ended.Status != SyncStatus.Completed)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ended.FailureReason);
        }
    }

    public const string DetectStep = "detect_changes";
    public const string BatchStep = "batch";

    public static Activity? StartConnector(string syncId, string tenantId, string connector, string step, string? traceParent)
    {
        ActivityContext.TryParse(traceParent, null, out var parent);
        var activity = Source.StartActivity("sync.connector", ActivityKind.Internal, parent);
        activity?.SetTag("sync.id", syncId);
        activity?.SetTag("tenant.id", tenantId);
        activity?.SetTag("connector", connector);
        activity?.SetTag("connector.step", step);
        return activity;
    }

    private sealed class Running(SyncMetrics metrics) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref metrics._active);
            }
        }
    }
}

/// <summary>Counts every end, whoever wrote it: the orchestration, the sweep, a cancel, a take-over.</summary>
public sealed class SyncMetricsEndListener(SyncMetrics metrics) : ISyncEndListener
{
    public Task OnSyncEndedAsync(SyncOperationEntity ended, CancellationToken cancellationToken)
    {
        metrics.Ended(ended);
        SyncMetrics.RecordRun(ended);
        return Task.CompletedTask;
    }
}
