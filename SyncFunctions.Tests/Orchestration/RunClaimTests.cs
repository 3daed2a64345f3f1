using SyncFunctions.Orchestration;
using SyncFunctions.Progress;

namespace SyncFunctions.Tests.Orchestration;

public sealed class RunClaimTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private static SyncOperationEntity Operation(string status, DateTimeOffset? leaseExpires = null, string? messageId = null, int attempt = 0) => new()
    {
        Status = status,
        RunLeaseExpiresAt = leaseExpires,
        RunMessageId = messageId,
        RunAttempt = attempt,
    };

    [Fact]
    public void Decide_WhenQueued_Claims() =>
        Assert.Equal(RunClaimDecision.Claim, RunClaim.Decide(Operation(SyncStatus.Queued), "m1", Now, 5));

    [Theory]
    [InlineData("completed")]
    [InlineData("failed")]
    [InlineData("cancelled")]
    public void Decide_WhenEnded_Drops(string status) =>
        Assert.Equal(RunClaimDecision.Drop, RunClaim.Decide(Operation(status), "m1", Now, 5));

    [Fact]
    public void Decide_WhenAnotherMessageArrivesWhileTheLeaseIsAlive_DropsTheDuplicate() =>
        Assert.Equal(RunClaimDecision.Drop, RunClaim.Decide(Operation(SyncStatus.Running, Now.AddSeconds(30), "m1", 1), "forged", Now, 5));

    [Fact]
    public void Decide_WhenItsOwnMessageReturnsWhileTheLeaseIsAlive_Defers() =>
        Assert.Equal(RunClaimDecision.Defer, RunClaim.Decide(Operation(SyncStatus.Running, Now.AddSeconds(30), "m1", 1), "m1", Now, 5));

    [Fact]
    public void Decide_WhenTheLeaseExpired_ClaimsToResume() =>
        Assert.Equal(RunClaimDecision.Claim, RunClaim.Decide(Operation(SyncStatus.Running, Now.AddSeconds(-1), "m1", 1), "m1", Now, 5));

    [Fact]
    public void Decide_WhenTheLeaseExpiredAndAttemptsAreUsedUp_GivesUp() =>
        Assert.Equal(RunClaimDecision.GiveUp, RunClaim.Decide(Operation(SyncStatus.Running, Now.AddSeconds(-1), "m1", 5), "m1", Now, 5));
}
