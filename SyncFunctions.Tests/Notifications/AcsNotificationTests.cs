using System.Text.Json;
using Azure.Core;
using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Notifications;
using SyncFunctions.Progress;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Notifications;

/// <summary>
/// Sync summaries through the Azure Communication Services e-mail REST API, against a local fake of it
/// (Kestrel, loopback) and a fake Entra credential put in by DI.
/// </summary>
public sealed class AcsNotificationTests : IAsyncLifetime
{
    private const string Sender = "DoNotReply@acs.tests.example";
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly FakeTokenCredential _credential = new();
    private readonly List<SyncApp> _apps = [];
    private FakeAcsEmailServer _acs = null!;
    private FakeTimeProvider? _clock;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        await _acs.DisposeAsync();
    }

    [Fact]
    public async Task SyncEnd_ThroughAcs_PostsTheDocumentedRequestWithABearerTokenAndPollsUntilSucceeded()
    {
        var app = await StartAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant, "owner@tests.example");
        await client.PutConnectionAsync("demo", new { items = 3 });

        var syncId = await client.TriggerAsync();
        var sync = await client.WaitForSyncAsync(syncId, s => s.TryGetProperty("notification", out var n) && n.ValueKind == JsonValueKind.Object && n.GetProperty("status").GetString() == "sent", "the e-mail to be sent");

        Assert.Equal(1, sync.GetProperty("notification").GetProperty("attempts").GetInt32());
        var send = Assert.Single(_acs.Sends);
        Assert.Equal("/emails:send?api-version=2023-03-31", send.PathAndQuery);
        Assert.Equal($"Bearer {FakeTokenCredential.Token}", send.Authorization);
        var body = send.Json;
        Assert.Equal(Sender, body.GetProperty("senderAddress").GetString());
        Assert.Equal("owner@tests.example", Assert.Single(body.GetProperty("recipients").GetProperty("to").EnumerateArray()).GetProperty("address").GetString());
        var content = body.GetProperty("content");
        Assert.Equal($"Sync succeeded: demo (tenant {tenant})", content.GetProperty("subject").GetString());
        Assert.Contains("3 total, 3 processed, 0 failed", content.GetProperty("plainText").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("<!DOCTYPE html>", content.GetProperty("html").GetString(), StringComparison.Ordinal);
        var polls = _acs.Requests.Where(r => r.Method == "GET").ToList();
        Assert.Equal(2, polls.Count); // Running (Retry-After: 1), then Succeeded
        Assert.All(polls, p => Assert.StartsWith("/emails/operations/", p.PathAndQuery, StringComparison.Ordinal));
        Assert.All(polls, p => Assert.Equal($"Bearer {FakeTokenCredential.Token}", p.Authorization));
        // Retry-After: 1 before each poll (timers may fire a hair early against the wall clock).
        Assert.True(polls[0].At - send.At >= TimeSpan.FromMilliseconds(900), "the first poll waited for the send's Retry-After");
        Assert.True(polls[1].At - polls[0].At >= TimeSpan.FromMilliseconds(900), "the second poll waited for the first poll's Retry-After");
        Assert.All(_credential.Scopes, s => Assert.Equal("https://communication.azure.com/.default", s));
    }

    [Fact]
    public async Task SyncEnd_WhenAcsReportsTheSendFailed_RecordsTheFailureAndLeavesTheSyncCompleted()
    {
        var app = await StartAsync();
        _acs.TerminalStatus = "Failed";
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant, "owner@tests.example");
        await client.PutConnectionAsync("demo", new { items = 2 });

        var syncId = await client.TriggerAsync();
        var sync = await client.WaitForSyncAsync(syncId, s => s.TryGetProperty("notification", out var n) && n.ValueKind == JsonValueKind.Object && n.GetProperty("status").GetString() == "failed", "the e-mail to fail");

        Assert.Equal("completed", sync.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, sync.GetProperty("error_message").ValueKind);
        var notification = sync.GetProperty("notification");
        Assert.Contains("EmailDropped", notification.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, notification.GetProperty("attempts").GetInt32());
        Assert.Single(_acs.Sends); // a send ACS accepted is never posted again
        await app.WaitForLogAsync($"Sync {syncId}: e-mail summary failed on attempt 1 and will not be retried: {notification.GetProperty("error").GetString()}");
    }

    [Fact]
    public async Task SendAsync_WhenAcsAnswers503_RetriesWithDoublingBackoffOnTheClock()
    {
        _clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var app = await StartAsync(new() { ["SYNC_NOTIFICATION_RETRY_SECONDS"] = "10" });
        _acs.FailNextSends(2);
        var tenant = SyncApp.NewTenant();
        var ended = await NotificationTestData.InsertEndedSyncAsync(app, tenant, _clock.GetUtcNow());

        // The send waits its backoffs on the test's clock, so it runs while the clock is moved below.
        var sending = app.Get<SyncNotifier>().NotifyAsync(ended, None);
        var operation = await Eventually.MatchAsync(
            async () =>
            {
                var o = await app.Get<SyncOperationStore>().GetAsync(tenant, ended.SyncId, None);
                if (o?.NotificationStatus != NotificationStatus.Sent)
                {
                    _clock.Advance(TimeSpan.FromSeconds(1)); // only as far as needed: each wait is on this clock
                }

                return o;
            },
            o => o?.NotificationStatus == NotificationStatus.Sent,
            "the e-mail to be sent after two refusals");
        await sending;

        Assert.Equal(3, operation!.NotificationAttempts);
        Assert.Null(operation.NotificationError);
        var sends = _acs.Sends;
        Assert.Equal(3, sends.Count);
        Assert.InRange(sends[1].At - sends[0].At, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(12));
        Assert.InRange(sends[2].At - sends[1].At, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(22));
        Assert.Contains(app.Logs.Lines, l => l.StartsWith($"Sync {ended.SyncId}: e-mail attempt 1 of 5 failed: Azure Communication Services answered 503", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SendAsync_WhenEveryAttemptIsRefused_GivesUpAfterMaxAttemptsAndRecordsTheLastError()
    {
        _clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var app = await StartAsync(new() { ["SYNC_NOTIFICATION_MAX_ATTEMPTS"] = "3" });
        _acs.FailNextSends(100);
        var tenant = SyncApp.NewTenant();
        var ended = await NotificationTestData.InsertEndedSyncAsync(app, tenant, _clock.GetUtcNow(), SyncStatus.Failed);

        // The send waits its backoffs on the test's clock, so it runs while the clock is moved below.
        var sending = app.Get<SyncNotifier>().NotifyAsync(ended, None);
        var operation = await Eventually.MatchAsync(
            async () =>
            {
                var o = await app.Get<SyncOperationStore>().GetAsync(tenant, ended.SyncId, None);
                if (o?.NotificationStatus != NotificationStatus.Failed)
                {
                    _clock.Advance(TimeSpan.FromSeconds(5));
                }

                return o;
            },
            o => o?.NotificationStatus == NotificationStatus.Failed,
            "the e-mail to be given up");
        await sending;

        Assert.Equal(3, _acs.Sends.Count);
        Assert.Equal(3, operation!.NotificationAttempts);
        Assert.Contains("answered 503", operation.NotificationError, StringComparison.Ordinal);
        Assert.Equal(SyncStatus.Failed, operation.Status);
        Assert.Equal("The source answered 500.", operation.ErrorMessage); // the sync's own outcome is untouched
        Assert.Contains(app.Logs.Lines, l => l.StartsWith($"Sync {ended.SyncId}: e-mail summary failed after 3 attempts", StringComparison.Ordinal));
    }

    private async Task<SyncApp> StartAsync(Dictionary<string, string?>? settings = null)
    {
        _acs = await FakeAcsEmailServer.StartAsync(_clock);
        var all = new Dictionary<string, string?>
        {
            ["ACS_EMAIL_ENDPOINT"] = _acs.Endpoint.AbsoluteUri,
            ["ACS_EMAIL_SENDER"] = Sender,
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var app = await SyncApp.StartAsync(all, _clock, services: s => s.AddSingleton<TokenCredential>(_credential));
        _apps.Add(app);
        return app;
    }
}
