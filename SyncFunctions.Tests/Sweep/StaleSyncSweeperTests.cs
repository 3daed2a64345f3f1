using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Configuration;
using SyncFunctions.Locking;
using SyncFunctions.Progress;
using SyncFunctions.Sweep;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Sweep;

/// <summary>
/// The stale-sync sweep against real Azurite. The local drivers are off, so nothing runs or sweeps
/// unless a test does it; time is a <see cref="FakeTimeProvider"/> moved only by the test. States are
/// built by the real components: the trigger endpoint for queued syncs, and for running ones the
/// tenant lock and the operation store, written the way a run writes them.
/// </summary>
public sealed class StaleSyncSweeperTests : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly List<SyncApp> _apps = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            app.Dispose();
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task SweepAsync_WhenHeartbeatIsStale_FailsTheSyncAsStuckAndReleasesTheLock()
    {
        var app = await StartAppAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 5 });
        var syncId = await StartRunningSyncAsync(app, tenant);

        _clock.Advance(TimeSpan.FromSeconds(91)); // past 3 × 30 s without a heartbeat
        var result = await app.Get<StaleSyncSweeper>().SweepAsync(null, None);

        Assert.Equal(1, result.Cleaned);
        Assert.Equal([syncId], result.SyncIds);
        var operation = await client.GetSyncAsync(syncId);
        Assert.Equal("failed", operation.GetProperty("status").GetString());
        Assert.Equal("stuck", operation.GetProperty("failure_reason").GetString());
        Assert.Contains("No heartbeat for 91 s (limit 90 s)", operation.GetProperty("error_message").GetString(), StringComparison.Ordinal);
        Assert.Equal(_clock.GetUtcNow(), operation.GetProperty("completed_at").GetDateTimeOffset());
        Assert.Equal("stuck", Assert.Single(operation.GetProperty("connectors").EnumerateArray()).GetProperty("failure_reason").GetString());
        Assert.Null(await app.Get<TableTenantLock>().GetAsync(tenant, None));

        var next = await client.PostAsync("/api/v1/sync", null);
        Assert.Equal(HttpStatusCode.Accepted, next.StatusCode);
    }

    [Theory]
    [InlineData(30, 0, 90)]
    [InlineData(10, 0, 30)]
    [InlineData(10, 45, 45)]
    public async Task SweepAsync_WhenHeartbeatAgeCrossesStaleAfter_FailsTheSyncOnlyOnceItIsOlder(int heartbeatSeconds, int staleAfterSetting, int staleAfterSeconds)
    {
        var app = await StartAppAsync(new()
        {
            ["SYNC_HEARTBEAT_INTERVAL_SECONDS"] = heartbeatSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SYNC_STALE_AFTER_SECONDS"] = staleAfterSetting.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var tenant = SyncApp.NewTenant();
        var syncId = await StartRunningSyncAsync(app, tenant);
        var sweeper = app.Get<StaleSyncSweeper>();

        _clock.Advance(TimeSpan.FromSeconds(staleAfterSeconds));
        var atTheLimit = await sweeper.SweepAsync(null, None);
        Assert.Equal(0, atTheLimit.Cleaned);
        Assert.Equal(SyncStatus.Running, (await GetOperationAsync(app, tenant, syncId)).Status);

        _clock.Advance(TimeSpan.FromSeconds(1));
        var pastTheLimit = await sweeper.SweepAsync(null, None);
        Assert.Equal([syncId], pastTheLimit.SyncIds);
        var operation = await GetOperationAsync(app, tenant, syncId);
        Assert.Equal(SyncStatus.Failed, operation.Status);
        Assert.Equal(FailureReason.Stuck, operation.FailureReason);
        Assert.Null(await app.Get<TableTenantLock>().GetAsync(tenant, None));
    }

    [Fact]
    public async Task SweepAsync_WhenDeadlineHasPassedDespiteHeartbeats_FailsTheSyncAsTimedOut()
    {
        var app = await StartAppAsync();
        var tenant = SyncApp.NewTenant();
        var syncId = await StartRunningSyncAsync(app, tenant, deadlineIn: TimeSpan.FromSeconds(300));
        var sweeper = app.Get<StaleSyncSweeper>();

        // A run that keeps beating but never finishes, like a connector that ignores cancellation.
        for (var elapsed = 30; elapsed < 300; elapsed += 30)
        {
            _clock.Advance(TimeSpan.FromSeconds(30));
            await HeartbeatAsync(app, tenant, syncId);
        }

        Assert.Equal(0, (await sweeper.SweepAsync(null, None)).Cleaned); // 270 s: before its deadline
        _clock.Advance(TimeSpan.FromSeconds(30));
        await HeartbeatAsync(app, tenant, syncId);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var result = await sweeper.SweepAsync(null, None);

        Assert.Equal([syncId], result.SyncIds);
        var operation = await GetOperationAsync(app, tenant, syncId);
        Assert.Equal(SyncStatus.Failed, operation.Status);
        Assert.Equal(FailureReason.TimedOut, operation.FailureReason);
        Assert.Contains("deadline", operation.ErrorMessage, StringComparison.Ordinal);
        Assert.Null(await app.Get<TableTenantLock>().GetAsync(tenant, None));
    }

    [Fact]
    public async Task SweepAsync_WhenAQueuedSyncIsNeverPickedUp_FailsItAsStuckAfterTheQueueTimeout()
    {
        var app = await StartAppAsync(new() { ["SYNC_QUEUE_TIMEOUT_SECONDS"] = "600" });
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 5 });
        var syncId = await client.TriggerAsync();
        var sweeper = app.Get<StaleSyncSweeper>();

        _clock.Advance(TimeSpan.FromSeconds(599));
        Assert.Equal(0, (await sweeper.SweepAsync(null, None)).Cleaned);
        Assert.Equal("queued", (await client.GetSyncAsync(syncId)).GetProperty("status").GetString());
        Assert.NotNull(await app.Get<TableTenantLock>().GetAsync(tenant, None));

        _clock.Advance(TimeSpan.FromSeconds(1));
        var result = await sweeper.SweepAsync(null, None);

        Assert.Equal([syncId], result.SyncIds);
        var operation = await client.GetSyncAsync(syncId);
        Assert.Equal("failed", operation.GetProperty("status").GetString());
        Assert.Equal("stuck", operation.GetProperty("failure_reason").GetString());
        Assert.Contains("No worker picked the sync up within 600 s", operation.GetProperty("error_message").GetString(), StringComparison.Ordinal);
        Assert.Null(await app.Get<TableTenantLock>().GetAsync(tenant, None));
        var retried = await client.TriggerAsync();
        Assert.NotEqual(syncId, retried);
    }

    [Fact]
    public async Task SweepAsync_WhenHeartbeatIsFresh_LeavesTheSyncAndItsLockUntouched()
    {
        var app = await StartAppAsync();
        var healthyTenant = SyncApp.NewTenant("healthy");
        var staleTenant = SyncApp.NewTenant("stale");
        var healthy = await StartRunningSyncAsync(app, healthyTenant);
        var stale = await StartRunningSyncAsync(app, staleTenant);
        for (var i = 0; i < 4; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(30));
            await HeartbeatAsync(app, healthyTenant, healthy);
        }

        var lockBefore = await app.Get<TableTenantLock>().GetAsync(healthyTenant, None);
        var operationBefore = await GetOperationAsync(app, healthyTenant, healthy);
        var result = await app.Get<StaleSyncSweeper>().SweepAsync(null, None);

        Assert.Equal([stale], result.SyncIds);
        var lockAfter = await app.Get<TableTenantLock>().GetAsync(healthyTenant, None);
        Assert.NotNull(lockAfter);
        Assert.Equal(lockBefore!.ETag, lockAfter.ETag);
        Assert.Equal(healthy, lockAfter.HolderId);
        var operationAfter = await GetOperationAsync(app, healthyTenant, healthy);
        Assert.Equal(SyncStatus.Running, operationAfter.Status);
        Assert.Equal(operationBefore.ETag, operationAfter.ETag);
    }

    [Fact]
    public async Task SweepAsync_WhenTwoSweepersRunAtOnce_FailsEachStaleSyncExactlyOnce()
    {
        var first = await StartAppAsync();
        var second = await StartAppAsync(prefix: first.Prefix);
        var stale = new Dictionary<string, string>();
        for (var i = 0; i < 12; i++)
        {
            var tenant = SyncApp.NewTenant("stale");
            stale[await StartRunningSyncAsync(first, tenant)] = tenant;
        }

        var healthyTenant = SyncApp.NewTenant("healthy");
        var healthy = await StartRunningSyncAsync(first, healthyTenant);
        _clock.Advance(TimeSpan.FromSeconds(120));
        await HeartbeatAsync(first, healthyTenant, healthy);

        var results = await Task.WhenAll(
            first.Get<StaleSyncSweeper>().SweepAsync(null, None),
            second.Get<StaleSyncSweeper>().SweepAsync(null, None));

        Assert.Empty(results[0].SyncIds.Intersect(results[1].SyncIds));
        Assert.Equal(stale.Keys.Order(StringComparer.Ordinal), results[0].SyncIds.Concat(results[1].SyncIds).Order(StringComparer.Ordinal));
        Assert.Equal(stale.Count, results[0].Cleaned + results[1].Cleaned);
        var lines = first.Logs.Lines.Concat(second.Logs.Lines).ToList();
        foreach (var (syncId, tenant) in stale)
        {
            var operation = await GetOperationAsync(first, tenant, syncId);
            Assert.Equal(SyncStatus.Failed, operation.Status);
            Assert.Equal(FailureReason.Stuck, operation.FailureReason);
            Assert.Single(lines, l => l.StartsWith($"Sync {syncId} of tenant {tenant} ended failed", StringComparison.Ordinal));
            Assert.Null(await first.Get<TableTenantLock>().GetAsync(tenant, None));
        }

        Assert.Equal(SyncStatus.Running, (await GetOperationAsync(first, healthyTenant, healthy)).Status);
        Assert.Equal(healthy, (await first.Get<TableTenantLock>().GetAsync(healthyTenant, None))?.HolderId);
    }

    [Fact]
    public async Task SweepAsync_AfterCleaning_LogsHowManyStuckSyncsItCleanedUp()
    {
        var app = await StartAppAsync();
        await StartRunningSyncAsync(app, SyncApp.NewTenant());
        await StartRunningSyncAsync(app, SyncApp.NewTenant());
        var sweeper = app.Get<StaleSyncSweeper>();

        Assert.Equal(0, (await sweeper.SweepAsync(null, None)).Cleaned);
        Assert.Contains("Cleaned up 0 stuck sync operations", app.Logs.Lines);
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(2, (await sweeper.SweepAsync(null, None)).Cleaned);

        Assert.Contains("Cleaned up 2 stuck sync operations", app.Logs.Lines);
    }

    [Fact]
    public async Task Cleanup_ForTheCallersTenant_CleansOnlyThatTenantAndReturnsWhatItCleaned()
    {
        var app = await StartAppAsync();
        var mine = SyncApp.NewTenant("mine");
        var other = SyncApp.NewTenant("other");
        using var client = await app.ClientForAsync(mine);
        using var otherClient = await app.ClientForAsync(other);
        var myStale = await StartRunningSyncAsync(app, mine);
        var otherStale = await StartRunningSyncAsync(app, other);
        _clock.Advance(TimeSpan.FromMinutes(5));

        var response = await client.PostAsync("/api/v1/sync/cleanup", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal(1, body.GetProperty("cleaned").GetInt32());
        Assert.Equal([myStale], body.GetProperty("sync_ids").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("stuck", (await client.GetSyncAsync(myStale)).GetProperty("failure_reason").GetString());
        Assert.Null(await app.Get<TableTenantLock>().GetAsync(mine, None));
        Assert.Equal("running", (await otherClient.GetSyncAsync(otherStale)).GetProperty("status").GetString());
        Assert.Equal(otherStale, (await app.Get<TableTenantLock>().GetAsync(other, None))?.HolderId);

        var again = await (await client.PostAsync("/api/v1/sync/cleanup", null)).JsonAsync();
        Assert.Equal(0, again.GetProperty("cleaned").GetInt32());
        Assert.Empty(again.GetProperty("sync_ids").EnumerateArray());
    }

    [Fact]
    public async Task SweepAsync_WhenALockOutlivesItsEndedSync_ReleasesTheLockWithoutCountingIt()
    {
        var app = await StartAppAsync();
        var tenant = SyncApp.NewTenant();
        var syncId = await StartRunningSyncAsync(app, tenant);
        // The run wrote its end state and died before releasing its lock.
        Assert.NotNull(await app.Get<SyncOperationStore>().TryEndAsync(tenant, syncId, SyncStatus.Completed, null, null, null, None));
        Assert.NotNull(await app.Get<TableTenantLock>().GetAsync(tenant, None));

        var result = await app.Get<StaleSyncSweeper>().SweepAsync(null, None);

        Assert.Equal(0, result.Cleaned);
        Assert.Empty(result.SyncIds);
        Assert.Null(await app.Get<TableTenantLock>().GetAsync(tenant, None));
        var operation = await GetOperationAsync(app, tenant, syncId);
        Assert.Equal(SyncStatus.Completed, operation.Status);
        Assert.Null(operation.FailureReason);
    }

    [Fact]
    public async Task SweepAsync_WhenATriggerDiedBeforeRecordingItsSync_ReleasesTheLockOnceItExpires()
    {
        var app = await StartAppAsync();
        var tenant = SyncApp.NewTenant();
        var tenantLock = app.Get<TableTenantLock>();
        var orphan = SyncId.New(_clock.GetUtcNow());
        var options = app.Get<IOptions<SyncOptions>>().Value;
        Assert.IsType<LockAcquisition.Acquired>(
            await tenantLock.AcquireAsync(tenant, orphan, _clock.GetUtcNow() + options.QueueTimeout, (_, _, _) => Task.FromResult(false), None));
        var sweeper = app.Get<StaleSyncSweeper>();

        Assert.Equal(0, (await sweeper.SweepAsync(null, None)).Cleaned);
        Assert.Equal(orphan, (await tenantLock.GetAsync(tenant, None))?.HolderId); // maybe still recording

        _clock.Advance(options.QueueTimeout);
        var result = await sweeper.SweepAsync(null, None);

        Assert.Equal(0, result.Cleaned); // there is no operation to fail
        Assert.Null(await tenantLock.GetAsync(tenant, None));
        Assert.Null(await app.Get<SyncOperationStore>().GetAsync(tenant, orphan, None));
    }

    [Fact]
    public async Task SweepAsync_WithALongHistory_FailsOnlyTheStaleActiveSyncs()
    {
        var app = await StartAppAsync();
        var tenant = SyncApp.NewTenant("busy");
        var store = app.Get<SyncOperationStore>();
        var historyStart = _clock.GetUtcNow() - TimeSpan.FromDays(30);
        for (var i = 0; i < 150; i++)
        {
            // Old, ended syncs: their heartbeats and deadlines are long past, but they are history.
            var at = historyStart + TimeSpan.FromHours(4 * i);
            var old = new SyncOperationEntity
            {
                SyncId = SyncId.New(at),
                TenantId = tenant,
                Status = i % 3 == 0 ? SyncStatus.Failed : SyncStatus.Completed,
                Connectors = "demo",
                CreatedAt = at,
                StartedAt = at,
                HeartbeatAt = at,
                DeadlineAt = at + TimeSpan.FromMinutes(5),
                CompletedAt = at + TimeSpan.FromMinutes(1),
            };
            await store.InsertAsync(old, None);
        }

        var staleSync = await StartRunningSyncAsync(app, tenant);
        var healthyTenant = SyncApp.NewTenant("healthy");
        var healthy = await StartRunningSyncAsync(app, healthyTenant);
        _clock.Advance(TimeSpan.FromMinutes(10));
        await HeartbeatAsync(app, healthyTenant, healthy);

        var result = await app.Get<StaleSyncSweeper>().SweepAsync(null, None);

        Assert.Equal([staleSync], result.SyncIds);
        var (history, _) = await store.ListAsync(tenant, 100, null, None);
        Assert.Equal(staleSync, history[0].SyncId);
        Assert.Equal(SyncStatus.Failed, history[0].Status);
        Assert.All(history.Skip(1), h => Assert.Null(h.ErrorMessage));
        Assert.Equal(SyncStatus.Running, (await GetOperationAsync(app, healthyTenant, healthy)).Status);
    }

    [Fact]
    public async Task SweeperLease_WhenHeldByAnotherInstance_IsRefusedUntilItExpires()
    {
        var app = await StartAppAsync();
        var lease = app.Get<SweeperLease>();
        var interval = TimeSpan.FromMinutes(5);

        Assert.True(await lease.TryAcquireAsync("instance-a", interval, None));
        Assert.False(await lease.TryAcquireAsync("instance-b", interval, None));
        _clock.Advance(TimeSpan.FromMinutes(4));
        Assert.True(await lease.TryAcquireAsync("instance-a", interval, None)); // renewed by its holder
        _clock.Advance(TimeSpan.FromMinutes(4));
        Assert.False(await lease.TryAcquireAsync("instance-b", interval, None));

        // The lease shares the locks table, but it is no tenant's lock: a sweep passes it by.
        Assert.Equal(0, (await app.Get<StaleSyncSweeper>().SweepAsync(null, None)).Cleaned);

        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(await lease.TryAcquireAsync("instance-b", interval, None));
        Assert.False(await lease.TryAcquireAsync("instance-a", interval, None));
    }

    [Fact]
    public async Task SweeperLease_WhenTwoInstancesRaceForIt_GoesToExactlyOne()
    {
        var first = await StartAppAsync();
        var second = await StartAppAsync(prefix: first.Prefix);
        var interval = TimeSpan.FromMinutes(5);

        var fresh = await Task.WhenAll(
            first.Get<SweeperLease>().TryAcquireAsync("instance-a", interval, None),
            second.Get<SweeperLease>().TryAcquireAsync("instance-b", interval, None));
        Assert.Single(fresh, acquired => acquired);

        _clock.Advance(interval);
        var expired = await Task.WhenAll(
            first.Get<SweeperLease>().TryAcquireAsync("instance-c", interval, None),
            second.Get<SweeperLease>().TryAcquireAsync("instance-d", interval, None));
        Assert.Single(expired, acquired => acquired);
    }

    private async Task<SyncApp> StartAppAsync(Dictionary<string, string?>? settings = null, string? prefix = null)
    {
        var all = new Dictionary<string, string?>(settings ?? []) { ["SYNC_DISABLE_LOCAL_DRIVERS"] = "true" };
        var app = await SyncApp.StartAsync(all, _clock, prefix);
        _apps.Add(app);
        return app;
    }

    private static async Task<SyncOperationEntity> GetOperationAsync(SyncApp app, string tenant, string syncId)
    {
        var operation = await app.Get<SyncOperationStore>().GetAsync(tenant, syncId, None);
        Assert.NotNull(operation);
        return operation;
    }

    /// <summary>
    /// A sync in the state a worker leaves it once it has claimed the run and sent its first heartbeat:
    /// the tenant lock names it and carries the heartbeat, the operation is running with its run lease
    /// and deadline. Nothing runs it, so it goes stale unless the test beats for it.
    /// </summary>
    private async Task<string> StartRunningSyncAsync(SyncApp app, string tenant, TimeSpan? deadlineIn = null)
    {
        var options = app.Get<IOptions<SyncOptions>>().Value;
        var now = _clock.GetUtcNow();
        var syncId = SyncId.New(now);
        var deadline = now + (deadlineIn ?? TimeSpan.FromSeconds(options.MaxTimeoutSeconds));
        var tenantLock = app.Get<TableTenantLock>();
        var acquisition = await tenantLock.AcquireAsync(tenant, syncId, deadline, (_, _, _) => Task.FromResult(false), None);
        var lease = Assert.IsType<LockAcquisition.Acquired>(acquisition).Lease;

        var operation = new SyncOperationEntity
        {
            SyncId = syncId,
            TenantId = tenant,
            Status = SyncStatus.Running,
            Connectors = "demo",
            CreatedAt = now,
            StartedAt = now,
            HeartbeatAt = now,
            ExpectedDurationSeconds = (int)(deadline - now).TotalSeconds,
            DeadlineAt = deadline,
            ProgressStage = SyncStage.ProcessingFiles,
            RunOwner = "test-worker/1",
            RunAttempt = 1,
            RunLeaseExpiresAt = now + options.StaleAfter,
        };
        operation.WriteConnectorProgress([new ConnectorProgress { Connector = "demo", Status = SyncStatus.Running, Stage = SyncStage.ProcessingFiles }]);
        await app.Get<SyncOperationStore>().InsertAsync(operation, None);
        await tenantLock.RenewAsync(lease, deadline, None);
        return syncId;
    }

    /// <summary>One heartbeat, as a live run sends it: the operation's run lease and the lock's heartbeat, both renewed.</summary>
    private async Task HeartbeatAsync(SyncApp app, string tenant, string syncId)
    {
        var now = _clock.GetUtcNow();
        var store = app.Get<SyncOperationStore>();
        var operation = await GetOperationAsync(app, tenant, syncId);
        operation.HeartbeatAt = now;
        operation.RunLeaseExpiresAt = now + app.Get<IOptions<SyncOptions>>().Value.StaleAfter;
        await store.ReplaceAsync(operation, None);
        var tenantLock = app.Get<TableTenantLock>();
        var lease = await tenantLock.GetAsync(tenant, None);
        Assert.NotNull(lease);
        await tenantLock.RenewAsync(lease, lease.ExpiresAt, None);
    }
}
