using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Api;
using SyncFunctions.Progress;

namespace SyncFunctions.Tests.Progress;

public sealed class ProgressFiguresTests
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static SyncOperationEntity Processing(int total, int processed, int failed, DateTimeOffset? processingStartedAt) => new()
    {
        PartitionKey = "figures-tenant",
        TenantId = "figures-tenant",
        SyncId = "figures-sync",
        Connectors = "demo",
        Status = SyncStatus.Running,
        CreatedAt = Start,
        StartedAt = Start,
        ProgressStage = SyncStage.ProcessingFiles,
        ProcessingStartedAt = processingStartedAt,
        TotalFilesToProcess = total,
        FilesProcessed = processed,
        FilesFailed = failed,
        ProgressPercentage = 10, // what the stage bands used to store: never what a reader is shown
    };

    [Fact]
    public void Of_NoItemDoneOfTwoHundred_IsZeroPercentWithNoEstimate()
    {
        var figures = ProgressFigures.Of(Processing(200, 0, 0, Start), Start.AddSeconds(30));

        Assert.Equal(0, figures.Percentage);
        Assert.Equal(0, figures.DoneItems);
        Assert.Null(figures.EstimatedSecondsRemaining);
    }

    [Fact]
    public void Of_ARunningSync_CountsFailedItemsAsDoneAndEstimatesFromItsOwnRate()
    {
        var clock = new FakeTimeProvider(Start.AddSeconds(20));
        var figures = ProgressFigures.Of(Processing(200, 40, 10, Start.AddSeconds(10)), clock.GetUtcNow());

        Assert.Equal(25, figures.Percentage);
        Assert.Equal(50, figures.DoneItems);
        Assert.Equal(30, figures.EstimatedSecondsRemaining); // 50 items in 10 s: 150 left take 30 s

        clock.Advance(TimeSpan.FromSeconds(10)); // no item done since: the rate falls, the estimate grows
        Assert.Equal(60, ProgressFigures.Of(Processing(200, 40, 10, Start.AddSeconds(10)), clock.GetUtcNow()).EstimatedSecondsRemaining); // 50 in 20 s: 60 s
    }

    [Fact]
    public void Of_BeforeEveryConnectorKnowsItsWork_IsZeroPercentWithNoEstimate()
    {
        var figures = ProgressFigures.Of(Processing(10, 10, 0, processingStartedAt: null), Start.AddMinutes(1));

        Assert.Equal(0, figures.Percentage);
        Assert.Null(figures.EstimatedSecondsRemaining);
    }

    [Theory]
    [InlineData(SyncStatus.Completed, 100)]
    [InlineData(SyncStatus.Failed, 40)]
    [InlineData(SyncStatus.Cancelled, 40)]
    public void Of_AnEndedSync_HasNoEstimateAndAHundredPercentOnlyWhenCompleted(string status, int expected)
    {
        var operation = Processing(50, 20, 0, Start);
        SyncOperationStore.MarkEnded(operation, status, null, null, Start.AddMinutes(1));

        var figures = ProgressFigures.Of(operation, Start.AddMinutes(2));

        Assert.Equal(expected, figures.Percentage);
        Assert.Equal(expected, operation.ProgressPercentage);
        Assert.Null(figures.EstimatedSecondsRemaining);
    }

    [Fact]
    public void StatusDtoAndSnapshot_OfOneRowAtOneMoment_ShowTheSameNumbers()
    {
        var operation = Processing(120, 33, 3, Start);
        var now = Start.AddSeconds(36);

        var dto = operation.ToDto(now);
        var snapshot = ProgressSnapshot.From(operation, now);

        Assert.Equal(30, dto.Progress.Percentage);
        Assert.Equal(dto.Progress.Percentage, snapshot.PercentComplete);
        Assert.Equal(dto.Progress.TotalFiles, snapshot.TotalItems);
        Assert.Equal(dto.FilesProcessed, snapshot.ProcessedItems);
        Assert.Equal(dto.FilesFailed, snapshot.FailedItems);
        Assert.Equal(dto.Progress.CurrentFileIndex, snapshot.ProcessedItems + snapshot.FailedItems);
        Assert.Equal(84, dto.EstimatedSecondsRemaining);
        Assert.Equal(dto.EstimatedSecondsRemaining, snapshot.EstimatedSecondsRemaining);
    }

    [Theory]
    [InlineData(false, 0, 0, SyncStatus.Running, 0)]
    [InlineData(false, 0, 0, SyncStatus.Completed, 100)]
    [InlineData(false, 0, 0, SyncStatus.Failed, 0)]
    [InlineData(true, 30, 0, SyncStatus.Running, 0)]
    [InlineData(true, 30, 15, SyncStatus.Running, 50)]
    [InlineData(true, 30, 15, SyncStatus.Failed, 50)]
    [InlineData(true, 0, 0, SyncStatus.Running, 100)]
    public void ConnectorPercentage_FollowsItsItemsOnceItsWorkIsKnown(bool known, int total, int done, string status, int expected)
    {
        var connector = new ConnectorProgress
        {
            Connector = "demo",
            Status = status,
            TotalItems = total,
            ExpectedDurationSeconds = known ? 60 : null,
            ProcessedItems = done - (done / 3),
            FailedItems = done / 3,
        };

        Assert.Equal(expected, connector.Percentage);
    }
}
