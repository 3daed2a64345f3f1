using Azure;
using SyncFunctions.Realtime;
using SyncFunctions.Storage;

namespace SyncFunctions.Progress;

/// <summary>
/// The progress of one run, held in memory by its runner and written to the operation row coalesced:
/// stage changes, totals, connector failures and the end at once; counters, the current item,
/// milestones, the expected duration and connectors that completed at most once per flush interval
/// (or with the next write that comes sooner); everything on each heartbeat. Every write is
/// conditional on the row's ETag; when someone else has ended the operation or taken over its run,
/// the run is told it lost and stops, and nothing it does later reaches the row.
/// </summary>
public sealed partial class RunProgress : IDisposable
{
    private const int MaxAttempts = 3;

    private readonly object _gate = new();
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly SyncOperationEntity _operation;
    private readonly List<ConnectorProgress> _connectors;
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

    public RunProgress(
        SyncOperationEntity operation, SyncOperationStore store, IProgressPublisher publisher, TimeProvider time, TimeSpan flushInterval, Action onLost, ILogger logger)
    {
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

    /// <summary>Which run of the operation this is (1, or more after a lost worker).</summary>
    public int Attempt => _operation.RunAttempt;

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

    /// <summary>
    /// The operation's adaptive timeout, once every connector knows its work. Not written on its own: the
    /// last connector's <see cref="TotalKnownAsync"/> (or its failure) follows at once and carries it, and
    /// until then the row holds the claim's deadline, the longest allowed, so nobody ends the run early.
    /// </summary>
    public void SetExpectedDuration(int seconds, DateTimeOffset deadline)
    {
        lock (_gate)
        {
            _operation.ExpectedDurationSeconds = seconds;
            _operation.DeadlineAt = deadline;
            _dirty = true;
        }
    }

    /// <summary>Proves the runner alive: always written, with whatever progress is pending.</summary>
    public Task HeartbeatAsync(DateTimeOffset leaseExpiresAt, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _operation.HeartbeatAt = _time.GetUtcNow();
            _operation.RunLeaseExpiresAt = leaseExpiresAt;
            _dirty = true;
        }

        return WriteAsync(urgent: true, cancellationToken);
    }

    /// <summary>The run's last write. False when the operation was no longer ours to end.</summary>
    public async Task<bool> EndAsync(string status, string? failureReason, string? errorMessage, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Recompute();
            _operation.WriteConnectorProgress(_connectors);
            SyncOperationStore.MarkEnded(_operation, status, failureReason, errorMessage, _time.GetUtcNow());
            _pendingEvents.Add(SyncEventLog.Read(_operation)[^1]);
            _connectors.Clear();
            _connectors.AddRange(_operation.ReadConnectorProgress());
            _dirty = true;
        }

        await WriteAsync(urgent: true, cancellationToken, throwOnFailure: true).ConfigureAwait(false);
        if (_lost)
        {
            return false;
        }

        SyncOperationEntity ended;
        lock (_gate)
        {
            ended = _operation.Clone();
        }

        await _store.ReportEndedAsync(ended, cancellationToken).ConfigureAwait(false);
        return true;
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
        var percentage = Math.Max(before, ProgressMath.Percentage(stage, processed + failed, total));
        var stageChanged = stage != _operation.ProgressStage;

        _operation.ProgressStage = stage;
        _operation.ProgressPercentage = percentage;
        _operation.TotalFilesToProcess = total;
        _operation.FilesProcessed = processed;
        _operation.FilesFailed = failed;
        _operation.CurrentFileIndex = processed + failed;
        _operation.CurrentFile = active.Select(c => c.CurrentItem).LastOrDefault(i => i is not null);
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
                    if (fresh is null || fresh.IsTerminal || fresh.RunOwner != _operation.RunOwner)
                    {
                        MarkLost(fresh?.Status ?? "deleted", fresh?.RunOwner);
                        return;
                    }

                    lock (_gate)
                    {
                        _operation.ETag = fresh.ETag; // changed by someone who did not end it: our copy stays the truth
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
            events.Add(new SyncEvent(last, SyncEvent.Progress, _time.GetUtcNow(), ProgressSnapshot.From(written)));
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

    private void MarkLost(string status, string? owner)
    {
        _lost = true;
        LogLost(_logger, _operation.SyncId, status, owner);
        _onLost();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId}: progress write failed ({Status} {ErrorCode}); it will be retried")]
    private static partial void LogWriteFailed(ILogger logger, string syncId, int status, string? errorCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} is no longer this runner's (status {Status}, owner {Owner}); stopping without further writes")]
    private static partial void LogLost(ILogger logger, string syncId, string status, string? owner);
}
