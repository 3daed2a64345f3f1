namespace SyncFunctions.Sync;

/// <summary>
/// How long work of a given size may take: <c>clamp(base + items × per_item, min, max)</c>. A big
/// sync gets room to finish; a small one cannot hang for the maximum. The numbers come from the
/// sync's <see cref="SyncTimings"/>, taken when it was triggered.
/// </summary>
public static class AdaptiveTimeout
{
    public static int Compute(long items, int baseSeconds, int perItemSeconds, int minSeconds, int maxSeconds)
    {
        var raw = baseSeconds + (Math.Max(items, 0) * (long)perItemSeconds);
        return (int)Math.Clamp(raw, minSeconds, maxSeconds);
    }
}
