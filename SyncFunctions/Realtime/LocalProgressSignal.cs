namespace SyncFunctions.Realtime;

/// <summary>
/// Wakes the Server-Sent Events streams of this instance when a sync running here has just written
/// progress, so they read the row at once instead of at their next poll. The row stays the only
/// source of what a stream sends; a stream on another instance, or one that misses a wake, still
/// finds every event at its next poll.
/// </summary>
public sealed class LocalProgressSignal
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Tenant, string Sync), List<ProgressWatch>> _watches = [];

    /// <summary>Watches one sync; open it before reading the row, so a write that lands in between still wakes the reader.</summary>
    public ProgressWatch Watch(string tenantId, string syncId)
    {
        var watch = new ProgressWatch(this, (tenantId, syncId));
        lock (_gate)
        {
            if (!_watches.TryGetValue(watch.Key, out var watches))
            {
                _watches[watch.Key] = watches = [];
            }

            watches.Add(watch);
        }

        return watch;
    }

    /// <summary>The row of this sync has just been written (called after the write, never before).</summary>
    public void Notify(string tenantId, string syncId)
    {
        ProgressWatch[] watches;
        lock (_gate)
        {
            if (!_watches.TryGetValue((tenantId, syncId), out var list))
            {
                return;
            }

            watches = [.. list];
        }

        foreach (var watch in watches)
        {
            watch.Set();
        }
    }

    internal void Remove(ProgressWatch watch)
    {
        lock (_gate)
        {
            if (_watches.TryGetValue(watch.Key, out var watches) && watches.Remove(watch) && watches.Count == 0)
            {
                _watches.Remove(watch.Key);
            }
        }
    }
}

/// <summary>One stream's interest in one sync: set by each write of that sync until it is read.</summary>
public sealed class ProgressWatch : IDisposable
{
    private readonly LocalProgressSignal _signal;
    private readonly SemaphoreSlim _changed = new(0, 1);
    private bool _disposed;

    internal ProgressWatch(LocalProgressSignal signal, (string Tenant, string Sync) key)
    {
        _signal = signal;
        Key = key;
    }

    internal (string Tenant, string Sync) Key { get; }

    internal void Set()
    {
        try
        {
            if (_changed.CurrentCount == 0)
            {
                _changed.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Already set by a concurrent write: one wake-up covers both.
        }
        catch (ObjectDisposedException)
        {
            // The stream closed between the lookup and the wake-up.
        }
    }

    /// <summary>Waits until the sync is written or <paramref name="timeout"/> passes on <paramref name="time"/>; true when woken by a write.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var changed = _changed.WaitAsync(either.Token);
        var elapsed = Task.Delay(timeout, time, either.Token);
        var first = await Task.WhenAny(changed, elapsed).ConfigureAwait(false);
        await either.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (first == changed)
        {
            return true;
        }

        // The delay won, but the wake-up may have been taken in the same instant: keep its mark for the next wait.
        try
        {
            await changed.ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _signal.Remove(this);
        _changed.Dispose();
    }
}
