namespace SyncFunctions.Progress;

/// <summary>
/// A percentage from items: (processed + failed) / total, floored, so 0 of 200 is 0 % and 100 % means
/// every item is done (or the sync completed). Before the work list is known the percentage is 0: a
/// stage is worth nothing the items could not take back a moment later (the first count says 0 of N),
/// and a bar that moves backwards tells the user something false.
/// </summary>
public static class ProgressMath
{
    /// <summary>The percentages whose crossing is written and published at once.</summary>
    public static readonly IReadOnlyList<int> Milestones = [10, 25, 50, 75, 90];

    /// <param name="knownTotal">The number of items once the work list is known; null while it is still being found.</param>
    /// <param name="doneItems">Items processed or failed.</param>
    /// <param name="completed">The sync (or connector) completed: 100 whatever the counts say.</param>
    public static int Percentage(int? knownTotal, int doneItems, bool completed)
    {
        if (completed)
        {
            return 100;
        }

        if (knownTotal is not { } total)
        {
            return 0;
        }

        if (total <= 0)
        {
            return 100; // nothing to do is all done
        }

        return (int)Math.Min(100, (long)Math.Max(0, doneItems) * 100 / total);
    }

    /// <summary>
    /// Seconds until the items left are done at the rate items were done so far; null when nothing was
    /// done yet (no rate to go by).
    /// </summary>
    public static int? SecondsRemaining(int totalItems, int doneItems, TimeSpan sinceProcessingStarted)
    {
        if (doneItems <= 0 || sinceProcessingStarted <= TimeSpan.Zero)
        {
            return null;
        }

        var left = Math.Max(0, totalItems - doneItems);
        var seconds = Math.Ceiling(left * sinceProcessingStarted.TotalSeconds / doneItems);
        return (int)Math.Min(int.MaxValue, seconds);
    }

    /// <summary>True when going from <paramref name="before"/> to <paramref name="after"/> reaches a milestone.</summary>
    public static bool CrossesMilestone(int before, int after)
    {
        foreach (var milestone in Milestones)
        {
            if (before < milestone && after >= milestone)
            {
                return true;
            }
        }

        return false;
    }
}
