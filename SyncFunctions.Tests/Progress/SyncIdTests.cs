using SyncFunctions.Progress;

namespace SyncFunctions.Tests.Progress;

public sealed class SyncIdTests
{
    [Fact]
    public void New_CarriesItsStartTime_ToTheMillisecond()
    {
        var now = new DateTimeOffset(2026, 11, 24, 10, 30, 15, 123, TimeSpan.Zero);
        var id = SyncId.New(now);

        Assert.True(SyncId.IsValid(id));
        Assert.Equal(now, SyncId.StartTime(id));
    }

    [Fact]
    public void RowKey_OfALaterSync_SortsFirst()
    {
        var earlier = SyncId.New(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var later = SyncId.New(new DateTimeOffset(2026, 1, 1, 0, 0, 1, TimeSpan.Zero));

        Assert.True(string.CompareOrdinal(SyncId.RowKey(later), SyncId.RowKey(earlier)) < 0);
        Assert.EndsWith(later, SyncId.RowKey(later), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("01M86BKQZFGFNYY1239H26V8P")]
    [InlineData("01M86BKQZFGFNYY1239H26V8PVX")]
    [InlineData("01m86bkqzfgfnyy1239h26v8pv")]
    [InlineData("01M86BKQZFGFNYY1239H26V8PU")]
    [InlineData("81M86BKQZFGFNYY1239H26V8PV")]
    [InlineData("01M86BKQZFGFNYY1239H26V8/V")]
    public void IsValid_WithMalformedIds_IsFalse(string value) => Assert.False(SyncId.IsValid(value));

    [Fact]
    public void New_TwiceInTheSameMillisecond_GivesDifferentIds()
    {
        var now = DateTimeOffset.UnixEpoch.AddYears(56);
        Assert.NotEqual(SyncId.New(now), SyncId.New(now));
    }
}
