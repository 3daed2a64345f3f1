using Azure;
using SyncFunctions.Realtime;
using SyncFunctions.Storage;

namespace SyncFunctions.Progress;

/// <summary>
/// The progress of the connectors one activity runs, held in memory and written to the operation row
/// coalesced: stage changes, totals and connector failures at once; counters, the current item,
/// milestones and connectors that completed at most once per flush interval (or with the next write
/// that comes sooner); everything on each heartbeat. Every write is conditional on the row's ETag.
/// Connectors of one sync run in parallel activities, possibly on other instances, each owning its
/// own entry: on a conflict the writer rebases its entries onto the fresh row and writes again, so no
/// one's progress is lost. When someone has ended the operation (the end, a cancel, the sweep, a
/// take-over) the activity is told it lost and stops, and nothing it does later reaches the row.
/// </summary>
public sealed partial class RunProgress : IDisposable
{
    private const int MaxAttempts = 3;

    private readonly object _gate = new();
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly HashSet<string> _owned;
    private readonly Func<long, int> _timeoutFor;
    private SyncOperationEntity _operation;
    private List<ConnectorProgress> _connectors;
    private DateTimeOffset? _heartbeatAt;
    private readonly SyncOperationStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _flushInterval;
    private readonly Action _onLost;
    private readonly IProgressPublisher _publisher;
    private readonly ILogger _logger;
    private readonly List<SyncEvent> _pendingEvents = [];
    private int _publishedDone = -1;
    private DateTimeOffset _lastWrite;
    private bool _dirty;
    private volatile bool _lost;
    private volatile bool _disposed;
    private ITimer? _trailingFlush;

    /// <param name="owned">The connectors this writer runs; the row's other entries belong to other activities.</param>
    /// <param name="timeoutFor">The sync's adaptive timeout for a total item count, set on the row once every connector knows its work.</param>
    public RunProgress(
        SyncOperationEntity operation, IReadOnlyCollection<string> owned, Func<long, int> timeoutFor,
        SyncOperationStore store, IProgressPublisher publisher, TimeProvider time, TimeSpan flushInterval, Action onLost, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(operation);
        _owned = new HashSet<string>(owned, StringComparer.Ordinal);
        _timeoutFor = timeoutFor;
        _publisher = publisher;
        _operation = operation;
        _connectors = operation.ReadConnectorProgress();
        _store = store;
        _time = time;
        _flushInterval = flushInterval;
        _onLost = onLost;
        _logger = logger;
        _lastWrite = time.GetUtcNow();
    }

    public bool IsLost => _lost;

    public string TenantId => _operation.TenantId;

    public string SyncId => _operation.SyncId;

    /// <summary>The adaptive timeout of this sync for an item count: the numbers the orchestration's timer uses too.</summary>
    public int TimeoutFor(long items) => _timeoutFor(items);

    /// <summary>The triggering request's trace, which the connector's span joins.</summary>
    public string? TraceParent => _operation.TraceParent;

    /// <summary>Tells this run's documents apart from those of an earlier delivery of the same activity.</summary>
    public int Attempt { get; } = System.Security.Cryptography.RandomNumberGenerator.GetInt32(int.MaxValue);

    /// <summary>
    /// Detection starts (or starts again, on a redelivered activity) from the connectors' committed
    /// state: their counts go back to zero, so no item is counted twice.
    /// </summary>
    public Task ResetAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var connector in _owned)
            {
                _connectors.RemoveAll(c => c.Connector == connector);
                _connectors.Add(new ConnectorProgress { Connector = connector, Status = SyncStatus.Running, Stage = SyncStage.Initializing });
            }

            _operation.ProgressPercentage = 0;
            _heartbeatAt = _time.GetUtcNow();
            _operation.HeartbeatAt = _heartbeatAt;
            Recompute();
            _dirty = true;
        }

        return WriteAsync(urgent: true, cancellationToken);
    }

    /// <summary>
    /// A batch starts (or starts again, on a redelivered batch) from the counts of the batches before it,
    /// as the orchestration recorded them: what an earlier, unfinished delivery of this batch counted is
    /// taken back, so no item is counted twice. Nothing is written when the row already shows them.
    /// </summary>
    public Task ResumeAsync(string connector, int processedBefore, int failedBefore, CancellationToken cancellationToken)
    {
        var changed = false;
        Update(connector, c =>
        {
            changed = c.ProcessedItems != processedBefore || c.FailedItems != failedBefore || c.InFlightItems != 0 || c.Status != SyncStatus.Running;
            c.ProcessedItems = processedBefore;
            c.FailedItems = failedBefore;
            c.InFlightItems = 0;
            c.Status = SyncStatus.Running;
            c.Stage = SyncStage.ProcessingFiles;
        });
        lock (_gate)
        {
            _dirty = changed;
        }

        return changed ? WriteAsync(urgent: true, cancellationToken) : Task.CompletedTask;
    }

    public IReadOnlyList<ConnectorProgress> Connectors
    {
        get
        {
            lock (_gate)
            {
                return [.. _connectors];
            }
        }
    }

    public Task StageAsync(string connector, string stage, CancellationToken cancellationToken)
    {
        Update(connector, c =>
        {
            c.Stage = stage;
            c.Status = SyncStatus.Running;
        });
        return WriteAsync(urgent: true, cancellationToken);
    }

    /// <summary>The connector's work list is known: its size and its own timeout.</summary>
    public Task TotalKnownAsync(string connector, int totalItems, int expectedSeconds, IReadOnlyList<string> notes, CancellationToken cancellationToken)
    {
        Update(connector, c =>
        {
            c.Notes = [.. notes.Take(ConnectorProgress.MaxNotes)];
            c.TotalItems = totalItems;
            c.ExpectedDurationSeconds = expectedSeconds;
            c.Stage = SyncStage.ProcessingFiles;
        });
        return WriteAsync(urgent: true, cancellationToken);
    }

    public Task ItemStartedAsync(string connector, string title, CancellationToken cancellationToken)
    {
        Update(connector, c =>
        {
            c.CurrentItem = title;
            c.InFlightItems++;
        });
        return WriteAsync(urgent: false, cancellationToken);
    }

    /// <summary>
    /// One item done. A milestone it crosses is stored as an event but not written on its own: in a fast
    /// sync the milestones fall within milliseconds of each other and of the next stage change, and were
    /// three writes per sync (bench: 11 table PUTs for 100 items); the next write carries them.
    /// </summary>
    public Task ItemDoneAsync(string connector, string title, string? failure, CancellationToken cancellationToken)
    {
        Update(connector, c =>
        {
            c.InFlightItems = Math.Max(0, c.InFlightItems - 1);
            if (failure is null)
            {
                c.ProcessedItems++;
            }
            else
            {
                c.FailedItems++;
                if (c.FailureSamples.Count < ConnectorProgress.MaxFailureSamples)
                {
                    c.FailureSamples.Add(new ItemFailure(title, failure));
                }
            }
        });
        return WriteAsync(urgent: false, cancellationToken);
    }

    /// <summary>
    /// One connector ended. A failure, or an end that adds an event (the operation's stage moves), is
    /// written at once; a completion that changes nothing else rides on the next write (the run's end follows it directly
    /// when it was the last connector).
    /// </summary>
    public Task ConnectorEndedAsync(string connector, string status, string? failureReason, string? errorMessage, CancellationToken cancellationToken)
    {
        var eventAdded = Update(connector, c =>
        {
            c.Status = status;
            c.CurrentItem = null;
            c.InFlightItems = 0;
            c.FailureReason = failureReason;
            c.ErrorMessage = errorMessage;
            if (status == SyncStatus.Completed)
            {
                c.Stage = SyncStage.Finalizing;
            }
        });
        return WriteAsync(urgent: eventAdded || status != SyncStatus.Completed, cancellationToken);
    }

    /// <summary>Proves the runner alive: always written, with whatever progress is pending.</summary>
    public Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _heartbeatAt = _time.GetUtcNow();
            _operation.HeartbeatAt = _heartbeatAt;
            _dirty = true;
        }

        return WriteAsync(urgent: true, cancellationToken);
    }

    private bool Update(string connector, Action<ConnectorProgress> change)
    {
        lock (_gate)
        {
            var progress = _connectors.FirstOrDefault(c => c.Connector == connector);
            if (progress is null)
            {
                progress = new ConnectorProgress { Connector = connector };
                _connectors.Add(progress);
            }

            change(progress);
            _dirty = true;
            if (!Recompute())
            {
                return false;
            }

            // A stage change or a milestone: a durable event, stored by the write this change triggers.
            _pendingEvents.Add(SyncEventLog.Append(_operation, SyncEvent.Progress, _time.GetUtcNow()));
            return true;
        }
    }

    /// <summary>Folds the connectors into the operation's columns; true when the stage changed or a milestone was crossed.</summary>
    private bool Recompute()
    {
        var active = _connectors.Where(c => !SyncStatus.IsTerminal(c.Status)).ToList();
        var stage = active.Count == 0
            ? SyncStage.Finalizing
            : active.MinBy(c => SyncStage.IndexOf(c.Stage))!.Stage;
        var total = _connectors.Sum(c => c.TotalItems);
        var processed = _connectors.Sum(c => c.ProcessedItems);
        var failed = _connectors.Sum(c => c.FailedItems);
        var before = _operation.ProgressPercentage;
        var stageChanged = stage != _operation.ProgressStage;

        _operation.ProgressStage = stage;
        _operation.TotalFilesToProcess = total;
        _operation.FilesProcessed = processed;
        _operation.FilesFailed = failed;
        _operation.CurrentFileIndex = processed + failed;
        _operation.CurrentFile = active.Select(c => c.CurrentItem).LastOrDefault(i => i is not null);

        // Once every connector knows its work: the sync's adaptive timeout (the same formula and numbers
        // the orchestration uses for its durable timer), and the moment processing started, from which
        // the percentage follows the items. A connector that starts detecting again (a redelivered
        // activity) makes the work unknown again: its old total no longer counts.
        var names = _operation.ConnectorNames;
        if (names.All(n => _connectors.Any(c => c.Connector == n && (c.ItemsKnown || SyncStatus.IsTerminal(c.Status)))))
        {
            _operation.ExpectedDurationSeconds = _timeoutFor(total);
            _operation.DeadlineAt = (_operation.StartedAt ?? _operation.CreatedAt) + TimeSpan.FromSeconds(_operation.ExpectedDurationSeconds);
            _operation.ProcessingStartedAt ??= _time.GetUtcNow();
        }
        else
        {
            _operation.ProcessingStartedAt = null;
        }

        var percentage = ProgressFigures.PercentageOf(_operation);
        _operation.ProgressPercentage = percentage;
        return stageChanged || ProgressMath.CrossesMilestone(before, percentage);
    }

    private async Task WriteAsync(bool urgent, CancellationToken cancellationToken, bool throwOnFailure = false)
    {
        if (_lost || _disposed)
        {
            return;
        }

        if (urgent)
        {
            await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (_time.GetUtcNow() - _lastWrite < _flushInterval || !await _write.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            ScheduleTrailingFlush(); // coalesced: written by a later write, or by the trailing flush at the latest
            return;
        }

        try
        {
            for (var attempt = 0; attempt < MaxAttempts && !_lost; attempt++)
            {
                SyncOperationEntity snapshot;
                List<SyncEvent> events;
                lock (_gate)
                {
                    if (!_dirty)
                    {
                        return;
                    }

                    _operation.WriteConnectorProgress(_connectors);
                    snapshot = _operation.Clone();
                    events = [.. _pendingEvents];
                    _dirty = false;
                    _lastWrite = _time.GetUtcNow();
                }

                try
                {
                    await _store.ReplaceAsync(snapshot, cancellationToken).ConfigureAwait(false);
                    lock (_gate)
                    {
                        _operation.ETag = snapshot.ETag;
                        _pendingEvents.RemoveAll(events.Contains);
                    }

                    await PublishAsync(snapshot, events, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (RequestFailedException e) when (e.IsPreconditionFailed())
                {
                    lock (_gate)
                    {
                        _dirty = true;
                    }

                    var fresh = await _store.GetAsync(_operation.TenantId, _operation.SyncId, cancellationToken).ConfigureAwait(false);
                    if (fresh is null || fresh.IsTerminal)
                    {
                        MarkLost(fresh?.Status ?? "deleted");
                        return;
                    }

                    lock (_gate)
                    {
                        Rebase(fresh); // another connector's activity wrote: its entries and events are the fresh row's
                    }
                }
                catch (RequestFailedException e) when (!throwOnFailure)
                {
                    // Storage hiccup: keep the changes pending; the next write or heartbeat carries them.
                    lock (_gate)
                    {
                        _dirty = true;
                    }

                    LogWriteFailed(_logger, _operation.SyncId, e.Status, e.ErrorCode);
                    return;
                }
            }
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>
    /// The durable events this write stored, or else a passing progress update when the counters moved
    /// (at most once per flush interval, since counter writes are coalesced to that rate).
    /// </summary>
    private Task PublishAsync(SyncOperationEntity written, List<SyncEvent> events, CancellationToken cancellationToken)
    {
        var done = written.FilesProcessed + written.FilesFailed;
        if (events.Count == 0)
        {
            if (done == _publishedDone)
            {
                return Task.CompletedTask; // a heartbeat or a timeout change: nothing a client would see
            }

            var last = SyncEventLog.Read(written) is { Count: > 0 } log ? log[^1].Sequence : 0;
            var now = _time.GetUtcNow();
            events.Add(new SyncEvent(last, SyncEvent.Progress, now, ProgressSnapshot.From(written, now)));
        }

        _publishedDone = done;
        return _publisher.PublishAsync(written.TenantId, written.SyncId, events, cancellationToken);
    }

    public void Dispose()
    {
        _disposed = true;
        lock (_gate)
        {
            _trailingFlush?.Dispose();
            _trailingFlush = null;
        }

        _write.Dispose();
    }

    /// <summary>
    /// Counters that were held back are written one flush interval after the last write, even when no
    /// further change comes (a connector that stalls right after an item still shows that item).
    /// </summary>
    private void ScheduleTrailingFlush()
    {
        lock (_gate)
        {
            if (_trailingFlush is not null || _lost || _disposed)
            {
                return;
            }

            var due = _flushInterval - (_time.GetUtcNow() - _lastWrite);
            _trailingFlush = _time.CreateTimer(_ => _ = FlushTrailingAsync(), null, due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task FlushTrailingAsync()
    {
        lock (_gate)
        {
            _trailingFlush?.Dispose();
            _trailingFlush = null;
        }

        if (_disposed)
        {
            return;
        }

        try
        {
            await WriteAsync(urgent: true, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The run ended while this flush was due; its last write already carried everything.
        }
    }

    /// <summary>Our connectors' entries onto the fresh row; a stage change or milestone they make on it is a new event.</summary>
    private void Rebase(SyncOperationEntity fresh)
    {
        var merged = fresh.ReadConnectorProgress();
        merged.RemoveAll(c => _owned.Contains(c.Connector));
        merged.AddRange(_connectors.Where(c => _owned.Contains(c.Connector)));
        _operation = fresh;
        _connectors = merged;
        if (_heartbeatAt is { } beat && (fresh.HeartbeatAt is not { } theirs || theirs < beat))
        {
            _operation.HeartbeatAt = beat;
        }

        _pendingEvents.Clear();
        if (Recompute())
        {
            _pendingEvents.Add(SyncEventLog.Append(_operation, SyncEvent.Progress, _time.GetUtcNow()));
        }

        _dirty = true;
    }

    private void MarkLost(string status)
    {
        _lost = true;
        LogLost(_logger, _operation.SyncId, status);
        _onLost();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId}: progress write failed ({Status} {ErrorCode}); it will be retried")]
    private static partial void LogWriteFailed(ILogger logger, string syncId, int status, string? errorCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} has ended ({Status}); its connector activity stops without further writes")]
    private static partial void LogLost(ILogger logger, string syncId, string status);
}
