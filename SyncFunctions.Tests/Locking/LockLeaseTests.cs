using Azure;
using SyncFunctions.Locking;

namespace SyncFunctions.Tests.Locking;

public sealed class LockLeaseTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(90);

    private static LockLease Lease(DateTimeOffset? heartbeat, DateTimeOffset expires) => new("t", "s", T0, heartbeat, expires, ETag.All);

    [Fact]
    public void IsStale_BeforeTheFirstHeartbeat_DependsOnlyOnExpiry()
    {
        var lease = Lease(null, T0.AddMinutes(15));
        Assert.False(lease.IsStale(T0.AddMinutes(14), StaleAfter));
        Assert.True(lease.IsStale(T0.AddMinutes(15), StaleAfter));
    }

    [Fact]
    public void IsStale_WhenTheHeartbeatIsOlderThanTheStaleWindow_IsTrue()
    {
        var lease = Lease(T0, T0.AddHours(2));
        Assert.False(lease.IsStale(T0.AddSeconds(90), StaleAfter));
        Assert.True(lease.IsStale(T0.AddSeconds(91), StaleAfter));
        Assert.Equal(LockStaleness.HeartbeatStopped, lease.Staleness(T0.AddSeconds(91), StaleAfter));
    }

    [Fact]
    public void Staleness_WhenHeartbeatsAreFreshButTheDeadlinePassed_IsExpired()
    {
        var lease = Lease(T0.AddSeconds(290), T0.AddSeconds(300));
        Assert.Equal(LockStaleness.Fresh, lease.Staleness(T0.AddSeconds(299), StaleAfter));
        Assert.Equal(LockStaleness.Expired, lease.Staleness(T0.AddSeconds(300), StaleAfter));
    }
}
