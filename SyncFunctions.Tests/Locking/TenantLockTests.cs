using Microsoft.DurableTask.Client;
using SyncFunctions.Locking;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Locking;

/// <summary>The TenantLock entity on the real Durable engine: its operations serialized, each naming its sync.</summary>
public sealed class TenantLockTests(SharedSyncApp shared) : IClassFixture<SharedSyncApp>
{
    private static readonly DateTimeOffset At = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Acquire_WhenTwentySyncsRace_GivesTheTenantToOneOfThem()
    {
        var client = await shared.App.DurableClientAsync();
        var tenant = SyncApp.NewTenant();
        var syncs = Enumerable.Range(0, 20).Select(i => $"sync-{i:D2}").ToList();

        await Task.WhenAll(syncs.Select(s => client.Entities.SignalEntityAsync(TenantLock.For(tenant), nameof(TenantLock.Acquire), new LockRequest(s, At))));

        var state = await HeldAsync(client, tenant);
        Assert.Contains(state.HolderSyncId, syncs);
        Assert.Equal(At, state.HeldSince);
    }

    [Fact]
    public async Task Release_ByAnotherSync_KeepsTheLock_AndByTheHolder_FreesIt()
    {
        var client = await shared.App.DurableClientAsync();
        var tenant = SyncApp.NewTenant();
        await client.Entities.SignalEntityAsync(TenantLock.For(tenant), nameof(TenantLock.Acquire), new LockRequest("holder", At));
        await client.Entities.SignalEntityAsync(TenantLock.For(tenant), nameof(TenantLock.Release), "replaced-sync");
        await client.Entities.SignalEntityAsync(TenantLock.For(tenant), nameof(TenantLock.TakeOver), new LockTakeover("someone-else", "intruder", At));

        Assert.Equal(new TenantLockState("holder", At), await HeldAsync(client, tenant));

        await client.Entities.SignalEntityAsync(TenantLock.For(tenant), nameof(TenantLock.Release), "holder");
        await Eventually.MatchAsync(async () => await client.Entities.GetEntityAsync(TenantLock.For(tenant)), e => e is null, "the released lock's entity to be gone");
    }

    [Fact]
    public async Task TakeOver_FromTheHolderItNames_MovesTheLock()
    {
        var client = await shared.App.DurableClientAsync();
        var tenant = SyncApp.NewTenant();
        await client.Entities.SignalEntityAsync(TenantLock.For(tenant), nameof(TenantLock.Acquire), new LockRequest("stuck", At));
        await client.Entities.SignalEntityAsync(TenantLock.For(tenant), nameof(TenantLock.TakeOver), new LockTakeover("stuck", "successor", At.AddMinutes(10)));

        await HeldAsync(client, tenant, s => s == new TenantLockState("successor", At.AddMinutes(10)));
    }

    [Fact]
    public async Task Acquire_NamingTheEndedHolder_TakesTheLock_AndNamingAnother_DoesNot()
    {
        var client = await shared.App.DurableClientAsync();
        var tenant = SyncApp.NewTenant();
        await client.Entities.SignalEntityAsync(TenantLock.For(tenant), nameof(TenantLock.Acquire), new LockRequest("ended", At));
        await client.Entities.SignalEntityAsync(TenantLock.For(tenant), nameof(TenantLock.Acquire), new LockRequest("intruder", At, "someone-else"));
        await client.Entities.SignalEntityAsync(TenantLock.For(tenant), nameof(TenantLock.Acquire), new LockRequest("next", At.AddMinutes(1), "ended"));

        await HeldAsync(client, tenant, s => s == new TenantLockState("next", At.AddMinutes(1)));
    }

    private static Task<TenantLockState> HeldAsync(DurableTaskClient client, string tenant, Func<TenantLockState, bool>? condition = null) =>
        Eventually.MatchAsync(
            async () => (await client.Entities.GetEntityAsync(TenantLock.For(tenant)))?.State.ReadAs<TenantLockState>()!,
            s => s is not null && (condition?.Invoke(s) ?? true),
            "the tenant's lock state");
}
