using SyncFunctions.Progress;

namespace SyncFunctions.Tests.Progress;

public sealed class ProgressMathTests
{
    [Theory]
    [InlineData("initializing", 0, 0, 0)]
    [InlineData("detecting_changes", 0, 0, 5)]
    [InlineData("processing_files", 0, 100, 10)]
    [InlineData("processing_files", 50, 100, 47)]
    [InlineData("processing_files", 100, 100, 85)]
    [InlineData("processing_files", 0, 0, 85)]
    [InlineData("updating_embeddings", 100, 100, 85)]
    [InlineData("finalizing", 100, 100, 95)]
    public void Percentage_ByStageAndItems_FallsInTheStageBand(string stage, int done, int total, int expected) =>
        Assert.Equal(expected, ProgressMath.Percentage(stage, done, total));

    [Fact]
    public void Percentage_NeverMovesBackwardsAcrossStages()
    {
        var last = -1;
        foreach (var stage in SyncStage.All)
        {
            for (var done = 0; done <= 10; done++)
            {
                var value = ProgressMath.Percentage(stage, stage == SyncStage.ProcessingFiles ? done : 10, 10);
                Assert.True(value >= last, $"{stage} {done}/10 gave {value} after {last}");
                last = value;
            }
        }
    }

    [Fact]
    public void Percentage_WithMoreDoneThanTotal_StaysAtTheBandEnd() =>
        Assert.Equal(85, ProgressMath.Percentage(SyncStage.ProcessingFiles, 12, 10));

    [Theory]
    [InlineData(9, 10, true)]
    [InlineData(10, 11, false)]
    [InlineData(24, 26, true)]
    [InlineData(0, 100, true)]
    [InlineData(91, 99, false)]
    [InlineData(50, 50, false)]
    public void CrossesMilestone_IsTrueOnlyWhenAMilestoneIsReached(int before, int after, bool expected) =>
        Assert.Equal(expected, ProgressMath.CrossesMilestone(before, after));

    [Fact]
    public void StageIndex_OrdersTheFiveStages() =>
        Assert.Equal(["initializing", "detecting_changes", "processing_files", "updating_embeddings", "finalizing"], SyncStage.All.OrderBy(SyncStage.IndexOf));
}
