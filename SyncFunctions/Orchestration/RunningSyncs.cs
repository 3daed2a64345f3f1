using System.Collections.Concurrent;

namespace SyncFunctions.Orchestration;

/// <summary>The runs in this process, so a cancel that lands here stops its run at once instead of at its next write.</summary>
public sealed class RunningSyncs
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _runs = new(StringComparer.Ordinal);

    public int Count => _runs.Count;

    internal void Add(string syncId, CancellationTokenSource run) => _runs[syncId] = run;

    internal void Remove(string syncId) => _runs.TryRemove(syncId, out _);

    public bool TryCancel(string syncId)
    {
        if (!_runs.TryGetValue(syncId, out var run))
        {
            return false;
        }

        try
        {
            run.Cancel();
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false; // finished between the lookup and the cancel
        }
    }
}
