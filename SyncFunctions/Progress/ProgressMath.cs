namespace SyncFunctions.Progress;

/// <summary>
/// Maps a stage and item counts to a percentage. Each stage owns a band, so the bar never moves
/// backwards when a stage changes: most of it belongs to processing, where the work is.
/// </summary>
public static class ProgressMath
{
    private static readonly int[] BandStart = [0, 5, 10, 85, 95];
    private static readonly int[] BandEnd = [5, 10, 85, 95, 100];

    /// <summary>The percentages whose crossing is written and published at once.</summary>
    public static readonly IReadOnlyList<int> Milestones = [10, 25, 50, 75, 90];

    public static int Percentage(string stage, int doneItems, int totalItems)
    {
        var index = SyncStage.IndexOf(stage);
        if (stage != SyncStage.ProcessingFiles)
        {
            return BandStart[index];
        }

        if (totalItems <= 0)
        {
            return BandEnd[index];
        }

        var fraction = Math.Clamp((double)doneItems / totalItems, 0, 1);
        return BandStart[index] + (int)Math.Floor(fraction * (BandEnd[index] - BandStart[index]));
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
