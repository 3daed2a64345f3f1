using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;

namespace SyncFunctions.Sync;

/// <summary>
/// How long work of a given size may take: <c>clamp(base + items × per_item, min, max)</c>. A big
/// sync gets room to finish; a small one cannot hang for the maximum.
/// </summary>
public sealed class AdaptiveTimeout(IOptions<SyncOptions> options)
{
    public int SecondsFor(long items)
    {
        var o = options.Value;
        return Compute(items, o.BaseTimeoutSeconds, o.PerFileTimeoutSeconds, o.MinTimeoutSeconds, o.MaxTimeoutSeconds);
    }

    public static int Compute(long items, int baseSeconds, int perItemSeconds, int minSeconds, int maxSeconds)
    {
        var raw = baseSeconds + (Math.Max(items, 0) * (long)perItemSeconds);
        return (int)Math.Clamp(raw, minSeconds, maxSeconds);
    }
}
