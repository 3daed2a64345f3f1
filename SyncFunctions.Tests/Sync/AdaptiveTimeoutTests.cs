using SyncFunctions.Configuration;
using SyncFunctions.Sync;

namespace SyncFunctions.Tests.Sync;

public sealed class AdaptiveTimeoutTests
{
    private static SyncTimings WithDefaults() => SyncTimings.From(new SyncOptions());

    [Theory]
    [InlineData(0, 300)]
    [InlineData(1, 310)]
    [InlineData(40, 700)]
    [InlineData(100, 1300)]
    [InlineData(690, 7200)]
    [InlineData(691, 7200)]
    [InlineData(1_000_000, 7200)]
    public void TimeoutFor_WithDefaults_IsBasePlusTenSecondsPerFileClampedTo300And7200(long items, int expected) =>
        Assert.Equal(expected, WithDefaults().TimeoutFor(items));

    [Fact]
    public void Compute_WhenBelowMinimum_ReturnsTheMinimum() =>
        Assert.Equal(120, AdaptiveTimeout.Compute(items: 2, baseSeconds: 10, perItemSeconds: 5, minSeconds: 120, maxSeconds: 600));

    [Fact]
    public void Compute_GrowsByThePerFileTimeForEachFile()
    {
        var ten = AdaptiveTimeout.Compute(10, 60, 7, 1, 100_000);
        var eleven = AdaptiveTimeout.Compute(11, 60, 7, 1, 100_000);
        Assert.Equal(130, ten);
        Assert.Equal(7, eleven - ten);
    }

    [Fact]
    public void Compute_WithNegativeItems_TreatsThemAsNone() =>
        Assert.Equal(300, AdaptiveTimeout.Compute(-5, 300, 10, 300, 7200));

    [Fact]
    public void TimeoutFor_UsesTheConfiguredValues()
    {
        var timeout = SyncTimings.From(new SyncOptions
        {
            BaseTimeoutSeconds = 30,
            PerFileTimeoutSeconds = 2,
            MinTimeoutSeconds = 40,
            MaxTimeoutSeconds = 100,
        });

        Assert.Equal(40, timeout.TimeoutFor(1));
        Assert.Equal(70, timeout.TimeoutFor(20));
        Assert.Equal(100, timeout.TimeoutFor(500));
    }
}
