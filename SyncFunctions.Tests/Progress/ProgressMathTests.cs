using SyncFunctions.Progress;

namespace SyncFunctions.Tests.Progress;

public sealed class ProgressMathTests
{
    [Theory]
    [InlineData(200, 0, 0)]
    [InlineData(200, 1, 0)]
    [InlineData(200, 2, 1)]
    [InlineData(3, 1, 33)]
    [InlineData(3, 2, 66)]
    [InlineData(200, 199, 99)]
    [InlineData(200, 200, 100)]
    public void Percentage_OfKnownItems_IsTheDoneShareFloored(int total, int done, int expected) =>
        Assert.Equal(expected, ProgressMath.Percentage(total, done, completed: false));

    [Fact]
    public void Percentage_BeforeTheItemsAreKnown_IsZeroWhateverIsCounted() =>
        Assert.Equal(0, ProgressMath.Percentage(null, 40, completed: false));

    [Fact]
    public void Percentage_OfAKnownEmptyWorkList_IsAllDone() =>
        Assert.Equal(100, ProgressMath.Percentage(0, 0, completed: false));

    [Fact]
    public void Percentage_OfACompletedSync_IsAHundredWhateverTheCounts() =>
        Assert.Equal(100, ProgressMath.Percentage(null, 0, completed: true));

    [Fact]
    public void Percentage_WithMoreDoneThanTotal_StopsAtAHundred() =>
        Assert.Equal(100, ProgressMath.Percentage(10, 12, completed: false));

    [Fact]
    public void Percentage_FromUnknownThroughEveryItem_NeverMovesBackwards()
    {
        var values = new List<int> { ProgressMath.Percentage(null, 0, completed: false) };
        for (var done = 0; done <= 7; done++)
        {
            values.Add(ProgressMath.Percentage(7, done, completed: false));
        }

        values.Add(ProgressMath.Percentage(7, 7, completed: true));
        Assert.Equal(values.Order(), values);
        Assert.Equal(100, values[^1]);
    }

    [Fact]
    public void Percentage_AsItemsAreDone_CrossesEveryMilestoneOnce()
    {
        var crossings = 0;
        for (var done = 1; done <= 40; done++)
        {
            if (ProgressMath.CrossesMilestone(ProgressMath.Percentage(40, done - 1, false), ProgressMath.Percentage(40, done, false)))
            {
                crossings++;
            }
        }

        Assert.Equal(ProgressMath.Milestones.Count, crossings);
    }

    [Theory]
    [InlineData(9, 10, true)]
    [InlineData(10, 11, false)]
    [InlineData(24, 26, true)]
    [InlineData(0, 100, true)]
    [InlineData(91, 99, false)]
    [InlineData(50, 50, false)]
    public void CrossesMilestone_IsTrueOnlyWhenAMilestoneIsReached(int before, int after, bool expected) =>
        Assert.Equal(expected, ProgressMath.CrossesMilestone(before, after));

    [Theory]
    [InlineData(100, 25, 10, 30)]
    [InlineData(100, 50, 10, 10)]
    [InlineData(3, 2, 10, 5)]
    [InlineData(100, 100, 10, 0)]
    public void SecondsRemaining_AtTheRateSoFar_IsTheItemsLeftOverThatRateRoundedUp(int total, int done, int elapsedSeconds, int expected) =>
        Assert.Equal(expected, ProgressMath.SecondsRemaining(total, done, TimeSpan.FromSeconds(elapsedSeconds)));

    [Fact]
    public void SecondsRemaining_BeforeTheFirstItemIsDone_IsUnknown() =>
        Assert.Null(ProgressMath.SecondsRemaining(100, 0, TimeSpan.FromMinutes(5)));

    [Fact]
    public void SecondsRemaining_OfAHugeBacklogAtACrawl_StaysAnInt() =>
        Assert.Equal(int.MaxValue, ProgressMath.SecondsRemaining(int.MaxValue, 1, TimeSpan.FromDays(30)));

    [Fact]
    public void StageIndex_OrdersTheFiveStages() =>
        Assert.Equal(["initializing", "detecting_changes", "processing_files", "updating_embeddings", "finalizing"], SyncStage.All.OrderBy(SyncStage.IndexOf));
}
