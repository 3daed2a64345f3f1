using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Realtime;

namespace SyncFunctions.Tests.Realtime;

public sealed class LocalProgressSignalTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task Wait_WhenTheSyncWasWrittenBeforeIt_ReturnsAtOnceAsWoken()
    {
        var signal = new LocalProgressSignal();
        var clock = new FakeTimeProvider();
        using var watch = signal.Watch("tenant-a", "sync-1");

        signal.Notify("tenant-a", "sync-1");

        Assert.True(await watch.WaitAsync(Long, clock, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Wait_WhenAnotherSyncOrTenantIsWritten_WaitsForItsTimeout()
    {
        var signal = new LocalProgressSignal();
        var clock = new FakeTimeProvider();
        using var watch = signal.Watch("tenant-a", "sync-1");
        signal.Notify("tenant-b", "sync-1");
        signal.Notify("tenant-a", "sync-2");

        var waiting = watch.WaitAsync(TimeSpan.FromSeconds(5), clock, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(5));

        Assert.False(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Notify_WithTwoStreamsOnOneSync_WakesBothOnceEach()
    {
        var signal = new LocalProgressSignal();
        var clock = new FakeTimeProvider();
        using var first = signal.Watch("tenant-a", "sync-1");
        using var second = signal.Watch("tenant-a", "sync-1");

        signal.Notify("tenant-a", "sync-1");
        signal.Notify("tenant-a", "sync-1");

        Assert.True(await first.WaitAsync(Long, clock, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await second.WaitAsync(Long, clock, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        var again = first.WaitAsync(TimeSpan.FromSeconds(1), clock, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await again.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Wait_WhenTheStreamIsCancelled_Throws()
    {
        var signal = new LocalProgressSignal();
        using var watch = signal.Watch("tenant-a", "sync-1");
        using var cancel = new CancellationTokenSource();
        var waiting = watch.WaitAsync(Long, new FakeTimeProvider(), cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }
}
