using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Configuration;
using SyncFunctions.Locking;
using SyncFunctions.Notifications;
using SyncFunctions.Progress;
using SyncFunctions.Sweep;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Notifications;

/// <summary>
/// Sync summaries by SMTP into a real MailDev, from the real app against real Azurite. Each test uses
/// its own tenants; every summary names its tenant in the subject, so a test reads only its own mail.
/// </summary>
public sealed class SmtpNotificationTests : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly List<SyncApp> _apps = [];
    private MailDevServer _mail = null!;

    public async Task InitializeAsync() => _mail = await MailDevServer.GetAsync();

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task SyncEnd_WhenCompleted_MailsTriggerAndTenantListOnceWithBothParts()
    {
        var app = await StartAppAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant, "owner@tests.example");
        await PutSettingsAsync(client, true, "ops@tests.example", "Owner@Tests.example", "lead@tests.example");
        await client.PutConnectionAsync("demo", new { items = 12, fail_every = 5 });

        var syncId = await client.TriggerAsync();
        await client.WaitForEndAsync(syncId);
        var sync = await client.WaitForSyncAsync(syncId, s => NotificationStatusOf(s) == "sent", "the e-mail to be sent");

        var mail = Assert.Single(await _mail.WaitForMailsAsync(tenant));
        Assert.Equal(["owner@tests.example", "ops@tests.example", "lead@tests.example"], Addresses(mail, "to"));
        Assert.Equal($"Sync succeeded with failed items: demo (tenant {tenant})", mail.GetProperty("subject").GetString());
        var text = mail.GetProperty("text").GetString()!;
        var html = mail.GetProperty("html").GetString()!;
        Assert.Contains("12 total, 10 processed, 2 failed", text, StringComparison.Ordinal);
        Assert.Contains("Demo item 5 of 12: Synthetic failure of item 5 (fail_every=5).", text, StringComparison.Ordinal);
        Assert.Contains("Demo item 10 of 12", html, StringComparison.Ordinal);
        Assert.Contains($"http://localhost:5080/?tenant_id={tenant}&sync_id={syncId}", text, StringComparison.Ordinal);
        Assert.Contains($"href=\"http://localhost:5080/?tenant_id={tenant}&amp;sync_id={syncId}\"", html, StringComparison.Ordinal);
        Assert.Equal(1, sync.GetProperty("notification").GetProperty("attempts").GetInt32());
        Assert.Equal(JsonValueKind.Null, sync.GetProperty("notification").GetProperty("error").ValueKind);
        await Eventually.MatchAsync(() => app.Get<NotificationClaimStore>().GetAsync(tenant, syncId, None), c => c is null, "the claim to be deleted");
    }

    [Fact]
    public async Task SyncEnd_WhenAConnectorFails_MailsTheFailureWithUserTextHtmlEncoded()
    {
        var app = await StartAppAsync(new() { ["SYNC_DASHBOARD_URL"] = "https://sync.tests.example/dashboard" });
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant, "owner@tests.example");
        const string path = "missing-<b>bold</b>&<script>alert(1)</script>";
        await client.PutConnectionAsync("folder", new { path });

        var syncId = await client.TriggerAsync("folder");
        var ended = await client.WaitForEndAsync(syncId);
        Assert.Equal("failed", ended.GetProperty("status").GetString());
        await client.WaitForSyncAsync(syncId, s => NotificationStatusOf(s) == "sent", "the e-mail to be sent");

        var mail = Assert.Single(await _mail.WaitForMailsAsync(tenant));
        Assert.Equal(["owner@tests.example"], Addresses(mail, "to"));
        Assert.Equal($"Sync failed: folder (tenant {tenant})", mail.GetProperty("subject").GetString());
        var html = mail.GetProperty("html").GetString()!;
        Assert.DoesNotContain("<b>bold</b>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("missing-&lt;b&gt;bold&lt;/b&gt;&amp;&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.Contains($"Folder '{path}' does not exist.", mail.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Contains($"https://sync.tests.example/dashboard/?tenant_id={tenant}&sync_id={syncId}", mail.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_WhenASyncIsCancelled_MailsACancelledSummary()
    {
        var app = await StartAppAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant, "owner@tests.example");
        await client.PutConnectionAsync("demo", new { items = 500, item_delay_ms = 200 });
        var syncId = await client.TriggerAsync();
        await client.WaitForSyncAsync(syncId, s => s.GetProperty("status").GetString() == "running", "the sync to run");

        var cancel = await client.PostAsync($"/api/v1/sync/{syncId}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var mail = Assert.Single(await _mail.WaitForMailsAsync(tenant));
        Assert.Equal($"Sync cancelled: demo (tenant {tenant})", mail.GetProperty("subject").GetString());
        Assert.Contains("Cancelled by owner@tests.example.", mail.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sweep_WhenItFailsAStaleSync_MailsTheTriggerOnce()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var app = await StartAppAsync(new() { }, clock);
        var tenant = SyncApp.NewTenant();
        var syncId = await StartRunningSyncAsync(app, tenant, clock);

        clock.Advance(TimeSpan.FromSeconds(91));
        var result = await app.SweepAsync();

        Assert.Equal([syncId], result.SyncIds);
        var mail = Assert.Single(await _mail.WaitForMailsAsync(tenant));
        Assert.Equal($"Sync failed: demo (tenant {tenant})", mail.GetProperty("subject").GetString());
        Assert.Equal(["sweeper-owner@tests.example"], Addresses(mail, "to"));
        Assert.Contains("No heartbeat for 91 s", mail.GetProperty("text").GetString(), StringComparison.Ordinal);
        await Eventually.MatchAsync(() => app.Get<SyncOperationStore>().GetAsync(tenant, syncId, None), o => o?.NotificationStatus == "sent", "the e-mail to be recorded");

        await app.SweepAsync();
        Assert.Single(await _mail.MailsForAsync(tenant));
    }

    [Fact]
    public async Task SyncEnd_WhenTheTenantTurnedNotificationsOff_SendsNothingAndRecordsSkipped()
    {
        var app = await StartAppAsync();
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant, "owner@tests.example");
        await PutSettingsAsync(client, false, "ops@tests.example");
        await client.PutConnectionAsync("demo", new { items = 3 });

        var syncId = await client.TriggerAsync();
        var sync = await client.WaitForSyncAsync(syncId, s => NotificationStatusOf(s) is not null, "the e-mail to be settled");

        Assert.Equal("completed", sync.GetProperty("status").GetString());
        Assert.Equal("skipped", NotificationStatusOf(sync));
        Assert.Equal("Notifications are turned off for this tenant.", sync.GetProperty("notification").GetProperty("error").GetString());
        Assert.Empty(await _mail.MailsForAsync(tenant));
    }

    [Fact]
    public async Task OnSyncEndedAsync_WhenTwoInstancesRaceForOneSync_SendsOneMail()
    {
        var first = await StartAppAsync(new() { });
        var second = await StartAppAsync(new() { }, prefix: first.Prefix);
        var tenant = SyncApp.NewTenant();
        var ended = await NotificationTestData.InsertEndedSyncAsync(first, tenant, DateTimeOffset.UtcNow);

        // Both instances, several times each, as a retried end, a redelivery and the sweep might.
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            (i % 2 == 0 ? first : second).Get<SyncNotifier>().NotifyAsync(ended, None)));

        await Eventually.MatchAsync(() => first.Get<SyncOperationStore>().GetAsync(tenant, ended.SyncId, None), o => o?.NotificationStatus == "sent", "the e-mail to be sent");
        await Eventually.MatchAsync(() => first.Get<NotificationClaimStore>().GetAsync(tenant, ended.SyncId, None), c => c is null, "the claim to be deleted");
        var mail = Assert.Single(await _mail.MailsForAsync(tenant));
        Assert.Contains("Report &lt;Q3&gt;.pdf</strong>: Unreadable &amp; damaged", mail.GetProperty("html").GetString(), StringComparison.Ordinal);

        // Late calls after the send find the outcome and send nothing.
        await second.Get<SyncNotifier>().NotifyAsync(ended, None);
        await Eventually.MatchAsync(() => second.Get<NotificationClaimStore>().GetAsync(tenant, ended.SyncId, None), c => c is null, "the late claim to be dropped");
        Assert.Single(await _mail.MailsForAsync(tenant));
    }

    [Fact]
    public async Task RecoverAsync_WhenASenderDiedAfterClaiming_SendsTheMailOnceAfterTheLeaseExpires()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var app = await StartAppAsync(new() { }, clock);
        var tenant = SyncApp.NewTenant();
        var ended = await NotificationTestData.InsertEndedSyncAsync(app, tenant, clock.GetUtcNow());
        // The claim a dead instance left behind: inserted, never sent, never renewed.
        var claims = app.Get<NotificationClaimStore>();
        Assert.NotNull(await claims.TryInsertAsync(tenant, ended.SyncId, "dead-instance", None));
        await app.SweepAsync(tenant);
        Assert.Equal("dead-instance", (await claims.GetAsync(tenant, ended.SyncId, None))?.Owner); // its lease is still running

        clock.Advance(NotificationClaimStore.Lease);
        await app.SweepAsync(tenant);

        await Eventually.MatchAsync(() => app.Get<SyncOperationStore>().GetAsync(tenant, ended.SyncId, None), o => o?.NotificationStatus == "sent", "the e-mail to be sent");
        Assert.Single(await _mail.WaitForMailsAsync(tenant));
        await Eventually.MatchAsync(() => claims.GetAsync(tenant, ended.SyncId, None), c => c is null, "the claim to be deleted");
        clock.Advance(NotificationClaimStore.Lease);
        await app.SweepAsync(tenant);
        Assert.Single(await _mail.MailsForAsync(tenant));
        Assert.Contains(app.Logs.Lines, l => l.StartsWith($"Sync {ended.SyncId} of tenant {tenant}: took over its e-mail from dead-instance", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sweep_WhenAnEndedSyncStillHoldsItsLockUnnotified_ClaimsAndSendsItsMail()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var app = await StartAppAsync(new() { }, clock);
        var tenant = SyncApp.NewTenant();
        var syncId = await StartRunningSyncAsync(app, tenant, clock);
        // Its ender died between the end write and the claim: ended, unclaimed, the lock still held.
        var operation = (await app.Get<SyncOperationStore>().GetAsync(tenant, syncId, None))!;
        SyncOperationStore.MarkEnded(operation, SyncStatus.Completed, null, null, clock.GetUtcNow());
        await app.Get<SyncOperationStore>().ReplaceAsync(operation, None);

        await app.SweepAsync();

        await Eventually.MatchAsync(() => app.LockOfAsync(tenant), l => l is null, "the sweep to free the lock");
        var mail = Assert.Single(await _mail.WaitForMailsAsync(tenant));
        Assert.Equal($"Sync succeeded: demo (tenant {tenant})", mail.GetProperty("subject").GetString());
    }

    private async Task<SyncApp> StartAppAsync(Dictionary<string, string?>? settings = null, TimeProvider? clock = null, string? prefix = null)
    {
        var all = _mail.Settings;
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var app = await SyncApp.StartAsync(all, clock, prefix);
        _apps.Add(app);
        return app;
    }

    private static async Task PutSettingsAsync(HttpClient client, bool enabled, params string[] recipients)
    {
        var response = await client.PutAsJsonAsync("/api/v1/notifications", new { enabled, recipients });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string? NotificationStatusOf(JsonElement sync) =>
        sync.TryGetProperty("notification", out var n) && n.ValueKind == JsonValueKind.Object ? n.GetProperty("status").GetString() : null;

    private static List<string?> Addresses(JsonElement mail, string field) =>
        mail.GetProperty(field).EnumerateArray().Select(a => a.GetProperty("address").GetString()).ToList();

    /// <summary>A running sync as a worker leaves it after its first heartbeat (see the sweeper tests), with nothing running it.</summary>
    private static async Task<string> StartRunningSyncAsync(SyncApp app, string tenant, FakeTimeProvider clock)
    {
        var options = app.Get<IOptions<SyncOptions>>().Value;
        var now = clock.GetUtcNow();
        var syncId = SyncId.New(now);
        var deadline = now + TimeSpan.FromSeconds(options.MaxTimeoutSeconds);
        var durable = await app.DurableClientAsync();
        await durable.Entities.SignalEntityAsync(TenantLock.For(tenant), nameof(TenantLock.Acquire), new LockRequest(syncId, now));
        await Eventually.MatchAsync(() => app.LockOfAsync(tenant), l => l?.HolderSyncId == syncId, "the sync to hold the lock");
        var operation = new SyncOperationEntity
        {
            SyncId = syncId,
            TenantId = tenant,
            Status = SyncStatus.Running,
            Connectors = "demo",
            TriggeredBy = "sweeper-owner@tests.example",
            CreatedAt = now,
            StartedAt = now,
            HeartbeatAt = now,
            ExpectedDurationSeconds = options.MaxTimeoutSeconds,
            DeadlineAt = deadline,
            ProgressStage = SyncStage.ProcessingFiles,
        };
        operation.WriteConnectorProgress([new ConnectorProgress { Connector = "demo", Status = SyncStatus.Running, Stage = SyncStage.ProcessingFiles }]);
        await app.Get<SyncOperationStore>().InsertAsync(operation, None);
        return syncId;
    }
}
