using System.Net;
using System.Text.Json;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Locking;
using SyncFunctions.Progress;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Functions;

/// <summary>
/// The invocation endpoints as the Functions host calls them: the app runs with its local drivers off,
/// so nothing but the test's POST runs a sync, and each payload is built from the real message the
/// trigger put on the real queue (Azurite).
/// </summary>
public sealed class FunctionInvocationEndpointTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static readonly Dictionary<string, string?> DriversOff = new() { ["SYNC_DISABLE_LOCAL_DRIVERS"] = "true" };

    private static async Task<(SyncApp App, HttpClient Client, string Tenant, string SyncId, QueueMessage Message)> TriggerAsync(
        object demoSettings, FakeTimeProvider? clock = null)
    {
        var app = await SyncApp.StartAsync(DriversOff, clock);
        var tenant = SyncApp.NewTenant();
        var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", demoSettings);
        var syncId = await client.TriggerAsync();
        var message = (await app.Storage.RunQueue.ReceiveMessageAsync(TimeSpan.FromMinutes(10))).Value;
        Assert.NotNull(message);
        Assert.Contains(syncId, message.MessageText, StringComparison.Ordinal);
        return (app, client, tenant, syncId, message);
    }

    private static Task<SyncOperationEntity?> OperationAsync(SyncApp app, string tenant, string syncId) =>
        app.Get<SyncOperationStore>().GetAsync(tenant, syncId, None);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SyncRun_WithAHostQueueInvocation_RunsTheSyncToCompletedAndAnswersInTheHostsShape(bool quoted)
    {
        var (app, client, tenant, syncId, message) = await TriggerAsync(new { items = 5 });
        using var _ = app;
        using var __ = client;
        using var host = app.CreateClient();

        var response = await HostInvocation.PostAsync(host, "SyncRun", HostInvocation.Queue(message, quoted));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal(JsonValueKind.Object, body.GetProperty("Outputs").ValueKind);
        Assert.Empty(body.GetProperty("Outputs").EnumerateObject());
        Assert.Contains(body.GetProperty("Logs").EnumerateArray(), l => l.GetString()!.Contains(message.MessageId, StringComparison.Ordinal));
        Assert.Equal(JsonValueKind.Null, body.GetProperty("ReturnValue").ValueKind);

        var done = await client.GetSyncAsync(syncId);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(5, done.GetProperty("files_processed").GetInt32());
        Assert.Contains($"Sync {syncId} completed successfully", app.Logs.Lines);
        Assert.Null(await app.Get<TableTenantLock>().GetAsync(tenant, None));
    }

    [Fact]
    public async Task SyncRun_WhenTheMessageIsPostedAgainAfterCompletion_DoesNotRunItAgain()
    {
        var (app, client, tenant, syncId, message) = await TriggerAsync(new { items = 3 });
        using var _ = app;
        using var __ = client;
        using var host = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await HostInvocation.PostAsync(host, "SyncRun", HostInvocation.Queue(message))).StatusCode);
        var finished = await OperationAsync(app, tenant, syncId);
        Assert.Equal(SyncStatus.Completed, finished!.Status);

        var again = await HostInvocation.PostAsync(host, "SyncRun", HostInvocation.Queue(message, dequeueCount: 2));
        var forged = await HostInvocation.PostAsync(host, "SyncRun", HostInvocation.Queue(message, id: Guid.NewGuid().ToString()));

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(HttpStatusCode.OK, forged.StatusCode);
        var after = await OperationAsync(app, tenant, syncId);
        Assert.Equal(finished.ETag, after!.ETag);
        Assert.Equal(1, after.RunAttempt);
        Assert.Single(app.Logs.Lines, l => l.StartsWith($"Started sync {syncId} ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SyncRun_WhileTheSyncRuns_AForgedOrRepeatedMessageChangesNothing()
    {
        var (app, client, tenant, syncId, message) = await TriggerAsync(new { items = 5, hang_after = 2 });
        using var _ = app;
        using var __ = client;
        using var host = app.CreateClient();
        var running = HostInvocation.PostAsync(host, "SyncRun", HostInvocation.Queue(message));
        await client.WaitForSyncAsync(syncId, s => s.GetProperty("files_processed").GetInt32() == 2, "two items processed");
        var before = await OperationAsync(app, tenant, syncId);

        var forged = await HostInvocation.PostAsync(host, "SyncRun", HostInvocation.Queue(message, id: Guid.NewGuid().ToString()));
        var repeated = await HostInvocation.PostAsync(host, "SyncRun", HostInvocation.Queue(message, dequeueCount: 2));

        Assert.Equal(HttpStatusCode.OK, forged.StatusCode); // another message while a live run holds it: dropped
        Assert.Equal(HttpStatusCode.ServiceUnavailable, repeated.StatusCode); // its own message: the host retries later
        var after = await OperationAsync(app, tenant, syncId);
        Assert.Equal(SyncStatus.Running, after!.Status);
        Assert.Equal(before!.RunOwner, after.RunOwner);
        Assert.Equal(1, after.RunAttempt);
        Assert.Equal(message.MessageId, after.RunMessageId);
        Assert.False(running.IsCompleted);

        var cancel = await client.PostAsync($"/api/v1/sync/{syncId}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await running).StatusCode);
        Assert.Equal("cancelled", (await client.GetSyncAsync(syncId)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task SyncRun_WhenItsOwnMessageComesBackOnTheLastDeliveryWhileTheLeaseLives_FailsTheSyncAndPoisonsTheMessage()
    {
        var (app, client, tenant, syncId, message) = await TriggerAsync(new { items = 5, hang_after = 2 });
        using var _ = app;
        using var __ = client;
        using var host = app.CreateClient();
        var running = HostInvocation.PostAsync(host, "SyncRun", HostInvocation.Queue(message));
        await client.WaitForSyncAsync(syncId, s => s.GetProperty("files_processed").GetInt32() == 2, "two items processed");

        var last = await HostInvocation.PostAsync(host, "SyncRun", HostInvocation.Queue(message, dequeueCount: 5));

        Assert.Equal(HttpStatusCode.OK, last.StatusCode); // settled: the host must not retry
        var failed = await client.GetSyncAsync(syncId);
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Equal("run_failed_repeatedly", failed.GetProperty("failure_reason").GetString());
        Assert.Contains("last delivery", failed.GetProperty("error_message").GetString(), StringComparison.Ordinal);
        Assert.Null(await app.Get<TableTenantLock>().GetAsync(tenant, None));
        var poisoned = (await app.Storage.PoisonQueue.PeekMessagesAsync(10)).Value;
        Assert.Contains(syncId, Assert.Single(poisoned).Body.ToString(), StringComparison.Ordinal);

        // Stopping the app ends the stalled first delivery: it is handed back, and the failed sync stays failed.
        var store = app.Get<SyncOperationStore>();
        app.Dispose();
        Assert.NotNull(await Record.ExceptionAsync(async () => (await running).EnsureSuccessStatusCode()));
        var after = await store.GetAsync(tenant, syncId, None);
        Assert.Equal(SyncStatus.Failed, after!.Status);
        Assert.Equal(FailureReason.RunFailedRepeatedly, after.FailureReason);
    }

    [Theory]
    [InlineData("X-Forwarded-For", "203.0.113.7")]
    [InlineData("X-Forwarded-Host", "syncfunctions.azurewebsites.net")]
    [InlineData("X-Forwarded-Proto", "https")]
    [InlineData("Forwarded", "for=203.0.113.7;proto=https")]
    [InlineData("X-ARR-LOG-ID", "6f1e2d3c-0000-4000-8000-000000000000")]
    [InlineData("X-Original-URL", "/SyncRun")]
    [InlineData("x-ms-invocation-id", "6f1e2d3c-0000-4000-8000-000000000001")]
    public async Task Invocation_ThatCameThroughTheHostsHttpProxy_IsRefusedAndChangesNothing(string header, string value)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (app, client, tenant, syncId, message) = await TriggerAsync(new { items = 3 }, clock);
        using var _ = app;
        using var __ = client;
        using var host = app.CreateClient();
        clock.Advance(TimeSpan.FromHours(1)); // the queued sync is stale: a sweep would fail it
        var proxied = new Dictionary<string, string> { [header] = value };

        var run = await HostInvocation.PostAsync(host, "SyncRun", HostInvocation.Queue(message), proxied);
        var sweep = await HostInvocation.PostAsync(host, "StaleSyncSweep", HostInvocation.Timer(), proxied);

        Assert.Equal(HttpStatusCode.NotFound, run.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, sweep.StatusCode);
        var operation = await OperationAsync(app, tenant, syncId);
        Assert.Equal(SyncStatus.Queued, operation!.Status);
        Assert.Equal(0, operation.RunAttempt);
        Assert.DoesNotContain(app.Logs.Lines, l => l.StartsWith("Cleaned up", StringComparison.Ordinal));
        Assert.Contains(app.Logs.Lines, l => l.StartsWith("Refused a call to /SyncRun", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StaleSyncSweep_WithAHostTimerInvocation_FailsAStaleSyncAndReportsTheCount()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (app, client, tenant, syncId, _) = await TriggerAsync(new { items = 3 }, clock);
        using var __ = app;
        using var ___ = client;
        using var host = app.CreateClient();
        clock.Advance(TimeSpan.FromSeconds(901)); // queued and never picked up for longer than SYNC_QUEUE_TIMEOUT_SECONDS

        var response = await HostInvocation.PostAsync(host, "StaleSyncSweep", HostInvocation.Timer());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal(["Cleaned up 1 stuck sync operations"], body.GetProperty("Logs").EnumerateArray().Select(l => l.GetString()));
        Assert.Empty(body.GetProperty("Outputs").EnumerateObject());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("ReturnValue").ValueKind);
        var operation = await client.GetSyncAsync(syncId);
        Assert.Equal("failed", operation.GetProperty("status").GetString());
        Assert.Equal("stuck", operation.GetProperty("failure_reason").GetString());
        Assert.Null(await app.Get<TableTenantLock>().GetAsync(tenant, None));
    }

    [Fact]
    public async Task SyncRun_WithAPayloadThatIsNotAQueueInvocation_IsABadRequest()
    {
        var (app, client, tenant, syncId, message) = await TriggerAsync(new { items = 3 });
        using var _ = app;
        using var __ = client;
        using var host = app.CreateClient();
        var payload = HostInvocation.Queue(message);
        payload["Metadata"]!.AsObject().Remove("DequeueCount");

        var response = await HostInvocation.PostAsync(host, "SyncRun", payload);

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("Metadata", out var _));
        Assert.Equal(SyncStatus.Queued, (await OperationAsync(app, tenant, syncId))!.Status);
    }
}
