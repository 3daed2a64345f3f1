using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Entities;
using Microsoft.DurableTask.Entities;
using Microsoft.Extensions.DependencyInjection;
using SyncFunctions.Progress;
using SyncFunctions.Sync;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Sync;

/// <summary>
/// A trigger whose lock decision does not come in time: the caller is told 503, and the sync must not
/// start later behind its back. The engine here is a client that schedules but never decides.
/// </summary>
public sealed class SlowEngineTests : IAsyncLifetime
{
    private SyncApp _app = null!;

    public async Task InitializeAsync() => _app = await SyncApp.StartAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Start_WhenTheEngineDoesNotDecideInTime_Answers503AndWithdrawsTheSync()
    {
        var tenant = SyncApp.NewTenant("slow");
        using var client = await _app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 5 });
        var engine = new UndecidedEngine();

        var result = await StarterAsync().StartAsync(engine, tenant, null, "owner@example.com", CancellationToken.None);

        var unavailable = Assert.IsType<TriggerResult.Unavailable>(result);
        var syncId = Assert.Single(engine.Scheduled);
        Assert.Equal(syncId, unavailable.SyncId);
        Assert.Equal([syncId], engine.Terminated);
        var operation = await _app.Get<SyncOperationStore>().GetAsync(tenant, syncId, CancellationToken.None);
        Assert.Equal(SyncStatus.Failed, operation!.Status);
        Assert.Equal(FailureReason.EnqueueFailed, operation.FailureReason);
        Assert.Equal(SyncEvent.Error, SyncEventLog.Read(operation)[^1].Type);
    }

    [Fact]
    public async Task Start_WhenTheSyncBeganJustAfterTheWait_AnswersAcceptedWithIt()
    {
        var tenant = SyncApp.NewTenant("slow");
        using var client = await _app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 5 });
        var operations = _app.Get<SyncOperationStore>();

        // The orchestration's SyncBegin wrote the running row, but its decision was not seen in time.
        var engine = new UndecidedEngine(request => operations.InsertAsync(new SyncOperationEntity
        {
            SyncId = request.SyncId,
            TenantId = request.TenantId,
            Status = SyncStatus.Running,
            Connectors = string.Join(',', request.Connectors),
            CreatedAt = SyncId.StartTime(request.SyncId),
        }, CancellationToken.None));

        var result = await StarterAsync().StartAsync(engine, tenant, null, null, CancellationToken.None);

        var accepted = Assert.IsType<TriggerResult.Accepted>(result);
        Assert.Equal(Assert.Single(engine.Scheduled), accepted.Operation.SyncId);
        Assert.Empty(engine.Terminated);
    }

    private SyncStarter StarterAsync()
    {
        var starter = ActivatorUtilities.CreateInstance<SyncStarter>(_app.Services);
        starter.DecisionTimeout = TimeSpan.FromMilliseconds(300);
        return starter;
    }

    /// <summary>Schedules (recording the sync), shows the instance pending forever, and records terminations.</summary>
    private sealed class UndecidedEngine(Func<SyncRequest, Task>? onSchedule = null) : DurableTaskClient("undecided")
    {
        public List<string> Scheduled { get; } = [];

        public List<string> Terminated { get; } = [];

        public override DurableEntityClient Entities { get; } = new NoLocks();

        public override async Task<string> ScheduleNewOrchestrationInstanceAsync(
            TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
        {
            var request = (SyncRequest)input!;
            Scheduled.Add(request.SyncId);
            if (onSchedule is not null)
            {
                await onSchedule(request);
            }

            return request.SyncId;
        }

        public override Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
            Task.FromResult<OrchestrationMetadata?>(new OrchestrationMetadata(nameof(SyncOrchestration), instanceId)
            {
                RuntimeStatus = OrchestrationRuntimeStatus.Pending,
                DataConverter = getInputsAndOutputs ? Microsoft.DurableTask.Converters.JsonDataConverter.Default : null,
            });

        public override Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default)
        {
            Terminated.Add(instanceId);
            return Task.CompletedTask;
        }

        public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null) => throw new NotSupportedException();

        public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default) => throw new NotSupportedException();

        public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) => throw new NotSupportedException();

        public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) => throw new NotSupportedException();

        public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
            throw new NotSupportedException();

        public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
            throw new NotSupportedException();

        public override Task<PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default) =>
            throw new NotSupportedException();

        public override Task<PurgeResult> PurgeAllInstancesAsync(PurgeInstancesFilter filter, PurgeInstanceOptions? options = null, CancellationToken cancellation = default) =>
            throw new NotSupportedException();

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Every tenant's lock is free.</summary>
    private sealed class NoLocks : DurableEntityClient
    {
        public NoLocks()
            : base("undecided")
        {
        }

        public override Task<EntityMetadata?> GetEntityAsync(EntityInstanceId id, bool includeState = true, CancellationToken cancellation = default) =>
            Task.FromResult<EntityMetadata?>(null);

        public override Task<EntityMetadata<T>?> GetEntityAsync<T>(EntityInstanceId id, bool includeState = true, CancellationToken cancellation = default) =>
            Task.FromResult<EntityMetadata<T>?>(null);

        public override AsyncPageable<EntityMetadata> GetAllEntitiesAsync(EntityQuery? filter = null) => throw new NotSupportedException();

        public override AsyncPageable<EntityMetadata<T>> GetAllEntitiesAsync<T>(EntityQuery? filter = null) => throw new NotSupportedException();

        public override Task SignalEntityAsync(EntityInstanceId id, string operationName, object? input = null, SignalEntityOptions? options = null, CancellationToken cancellation = default) =>
            throw new NotSupportedException();

        public override Task<CleanEntityStorageResult> CleanEntityStorageAsync(CleanEntityStorageRequest? request = null, bool continueUntilComplete = true, CancellationToken cancellation = default) =>
            throw new NotSupportedException();
    }
}
