using Microsoft.Extensions.Options;
using Microsoft.Playwright;
using SyncFunctions.Notifications;
using SyncFunctions.Progress;
using SyncFunctions.Security;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Dashboard;

/// <summary>The dashboard in a real headless Chromium against the real app on Azurite.</summary>
public sealed class DashboardTests
{
    private static async Task<IPage> OpenAsync(IBrowserContext context, SyncApp app, string tenant)
    {
        using var probe = app.CreateClient();
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(probe.BaseAddress!, $"/?tenant={tenant}").ToString());
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync($"Signed in to tenant {tenant}");
        return page;
    }

    /// <summary>Opens a link (as the e-mail builds it, with a token in the fragment when given) and waits for the sign-in line.</summary>
    private static async Task<IPage> OpenLinkAsync(IBrowserContext context, string link, string? token, string signedIn)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync(token is null ? link : $"{link}#access_token={token}");
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync(signedIn);
        return page;
    }

    private static string EmailLink(SyncApp app, string tenant, string syncId)
    {
        using var probe = app.CreateClient();
        var email = new SyncSummaryEmail(Options.Create(new NotificationOptions { DashboardUrl = probe.BaseAddress!.ToString() }));
        return email.DashboardLink(new SyncOperationEntity { TenantId = tenant, SyncId = syncId });
    }

    /// <summary>The card's and the dialog's sync, percentage, files, failed items and time left, read in one go.</summary>
    private static Task<string[][]> CardAndDialogAsync(IPage page) => page.EvaluateAsync<string[][]>(@"() => {
        const text = (id) => document.getElementById(id).textContent;
        const read = (view) => [
            document.getElementById(view === 'latest' ? 'latest' : 'modal').dataset.syncId,
            document.getElementById(`${view}-bar`).getAttribute('aria-valuenow'),
            text(`${view}-files`), text(`${view}-failed`), text(`${view}-remaining`)];
        return [read('latest'), read('modal')];
    }");

    /// <summary>Records every value the dialog's progress bar takes.</summary>
    private static async Task RecordModalProgressAsync(IPage page) => await page.EvaluateAsync(@"() => {
        window.__progress = [];
        const bar = document.getElementById('modal-bar');
        new MutationObserver(() => window.__progress.push(Number(bar.getAttribute('aria-valuenow'))))
            .observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
    }");

    [Fact]
    public async Task SyncNow_OnADemoTenant_MovesTheBarThroughTheMilestonesAndClosesTheDialogAfterCompletion()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant("dash");
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 60, item_delay_ms = 150 });
        await using var context = await Browser.NewContextAsync();
        var page = await OpenAsync(context, app, tenant);
        await RecordModalProgressAsync(page);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sync now", Exact = true }).ClickAsync();

        var dialog = page.GetByRole(AriaRole.Dialog);
        await Assertions.Expect(dialog).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("Live: SignalR");
        await page.WaitForFunctionAsync("() => Number(document.getElementById('modal-bar').getAttribute('aria-valuenow')) >= 40"
            + " && document.getElementById('latest').dataset.syncId === document.getElementById('modal').dataset.syncId");
        var midSync = await CardAndDialogAsync(page);
        Assert.Equal(midSync[0], midSync[1]); // the card behind the dialog shows the same sync, percentage and counts
        Assert.NotEqual("100", midSync[0][1]);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ArtifactsDirectory, "dashboard-mid-sync.png") });
        await Assertions.Expect(page.Locator("#modal-message")).ToHaveTextAsync("Completed.", new() { Timeout = 30_000 });
        await Assertions.Expect(dialog).ToBeVisibleAsync(); // it stays a moment, then closes by itself
        await Assertions.Expect(dialog).ToBeHiddenAsync(new() { Timeout = 6_000 });

        var values = await page.EvaluateAsync<int[]>("() => window.__progress");
        Assert.Equal(values.Order(), values);
        foreach (var milestone in new[] { 10, 25, 50, 75, 90 })
        {
            Assert.Contains(values, v => v >= milestone);
        }

        Assert.Equal(100, values[^1]);
        await Assertions.Expect(page.Locator("#latest-status")).ToHaveTextAsync("completed");
        await Assertions.Expect(page.Locator("#latest-files")).ToHaveTextAsync("60 of 60 files");
        await Assertions.Expect(page.Locator("#latest-bar")).ToHaveAttributeAsync("aria-valuenow", "100");
    }

    [Fact]
    public async Task SyncNow_WhenSignalRCannotConnect_FollowsTheEventStreamToTheEnd()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant("dash");
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 30, item_delay_ms = 100 });
        await using var context = await Browser.NewContextAsync();
        var page = await OpenAsync(context, app, tenant);
        await page.RouteAsync("**/api/negotiate**", route => route.AbortAsync());

        await page.GetByRole(AriaRole.Button, new() { Name = "Sync now", Exact = true }).ClickAsync();

        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("Live: event stream");
        await Assertions.Expect(page.Locator("#modal-message")).ToHaveTextAsync("Completed.", new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#modal-processed")).ToHaveTextAsync("30");
        await Assertions.Expect(page.GetByRole(AriaRole.Dialog)).ToBeHiddenAsync(new() { Timeout = 6_000 });
    }

    [Fact]
    public async Task SyncNow_WhileASyncRuns_ShowsThatSyncsProgressNotAnErrorWithTheCardsNumbers()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant("dash");
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 10, hang_after = 2 });
        var running = await client.TriggerAsync();
        await client.WaitForSyncAsync(running, s => s.GetProperty("files_processed").GetInt32() == 2, "two items processed");
        await using var context = await Browser.NewContextAsync();
        var page = await OpenAsync(context, app, tenant);
        await Assertions.Expect(page.Locator("#latest-files")).ToHaveTextAsync("2 of 10 files");
        await Assertions.Expect(page.Locator("#latest-percent")).ToHaveTextAsync("20%");
        await Assertions.Expect(page.Locator("#latest dt").GetByText("Elapsed / timeout", new() { Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#latest-duration")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+ s / \d+ (s|min \d+ s)$"));
        await Assertions.Expect(page.Locator("#latest dt").GetByText("Time left (estimated)", new() { Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#latest-remaining")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^about \\d"));

        await page.GetByRole(AriaRole.Button, new() { Name = "Sync now", Exact = true }).ClickAsync();

        await Assertions.Expect(page.Locator("#modal-title")).ToHaveTextAsync("A sync is already running");
        await Assertions.Expect(page.Locator("#modal-stage")).ToHaveTextAsync("Processing files · 20%");
        await Assertions.Expect(page.Locator("#modal-files")).ToHaveTextAsync("2 of 10 files");
        await Assertions.Expect(page.Locator("#modal-processed")).ToHaveTextAsync("2");
        var shown = await CardAndDialogAsync(page);
        Assert.Equal(running, shown[0][0]);
        Assert.Equal(shown[0], shown[1]);
        Assert.Equal("20", shown[1][1]);
        await Assertions.Expect(page.Locator("#modal-error")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#notice")).ToBeHiddenAsync();
        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(page.GetByRole(AriaRole.Dialog)).ToBeHiddenAsync();
    }

    /// <summary>A sync whose process died two minutes ago (its lock held, its heartbeat old): the dashboard marks the heartbeat stale and its cleanup fails it.</summary>
    [Fact]
    public async Task Cleanup_OfAStuckSync_HighlightsTheStaleHeartbeatThenFailsItAndSaysHowMany()
    {
        await using var instanceB = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant("dash");
        await instanceB.LeaveAHolderAsync(tenant, heartbeatAge: TimeSpan.FromMinutes(2));
        await using var context = await Browser.NewContextAsync();
        var page = await OpenAsync(context, instanceB, tenant);
        await Assertions.Expect(page.Locator("#latest-status")).ToHaveTextAsync("running");
        await Assertions.Expect(page.Locator("#latest-heartbeat")).ToHaveClassAsync("stale");

        await page.GetByRole(AriaRole.Button, new() { Name = "Cleanup stuck syncs" }).ClickAsync();

        await Assertions.Expect(page.Locator("#notice")).ToHaveTextAsync("Cleaned up 1 stuck sync.");
        await Assertions.Expect(page.Locator("#latest-status")).ToHaveTextAsync("failed");
        await Assertions.Expect(page.Locator("#latest-error")).ToContainTextAsync("stuck");
    }

    [Fact]
    public async Task Dashboard_AtPhoneWidth_FitsWithoutSideScrollingAndWorksFromTheKeyboard()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant("dash");
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 8, fail_every = 4 });
        var done = await client.TriggerAsync();
        await client.WaitForEndAsync(done);
        await using var context = await Browser.NewContextAsync(375, 812);
        var page = await OpenAsync(context, app, tenant);
        await Assertions.Expect(page.Locator("#latest-failed")).ToHaveTextAsync("2");

        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at 375 px");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ArtifactsDirectory, "dashboard-phone.png"), FullPage = true });
        var bar = page.GetByRole(AriaRole.Progressbar, new() { Name = "Latest sync progress" });
        await Assertions.Expect(bar).ToHaveAttributeAsync("aria-valuenow", "100");
        await Assertions.Expect(bar).ToHaveAttributeAsync("aria-valuemax", "100");

        // Keyboard only: focus reaches "Sync now" and Enter starts a sync.
        var syncNow = page.GetByRole(AriaRole.Button, new() { Name = "Sync now", Exact = true });
        for (var i = 0; i < 10 && !await syncNow.EvaluateAsync<bool>("b => b === document.activeElement"); i++)
        {
            await page.Keyboard.PressAsync("Tab");
        }

        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByRole(AriaRole.Dialog)).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#modal-failed")).ToHaveTextAsync("2", new() { Timeout = 30_000 });
    }

    [Fact]
    public async Task EmailLink_ToASyncTheViewerMaySee_OpensThatSyncNotTheLatestForItsUserAndForAnAdmin()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant("mail");
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 4 });
        var named = await client.TriggerAsync();
        await client.WaitForEndAsync(named);
        await client.PutConnectionAsync("demo", new { items = 6 });
        await client.WaitForEndAsync(await client.TriggerAsync());
        var link = EmailLink(app, tenant, named);
        await using var context = await Browser.NewContextAsync();

        var page = await OpenLinkAsync(context, link, token: null, $"Signed in to tenant {tenant}");

        await Assertions.Expect(page.Locator("#latest-title")).ToHaveTextAsync($"Sync {named}");
        await Assertions.Expect(page.Locator("#latest-files")).ToHaveTextAsync("4 of 4 files");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show latest sync" }).ClickAsync();
        await Assertions.Expect(page.Locator("#latest-title")).ToHaveTextAsync("Latest sync");
        await Assertions.Expect(page.Locator("#latest-files")).ToHaveTextAsync("6 of 6 files");

        var adminTenant = SyncApp.NewTenant("ops");
        var admin = await app.TokenForAsync(adminTenant, null, Caller.AdminRole);
        var adminPage = await OpenLinkAsync(context, link, admin, $"Signed in to tenant {adminTenant}, viewing tenant {tenant}");
        await Assertions.Expect(adminPage.Locator("#latest-title")).ToHaveTextAsync($"Sync {named}");
        await Assertions.Expect(adminPage.Locator("#latest-files")).ToHaveTextAsync("4 of 4 files");
        await Assertions.Expect(adminPage.Locator("#notice")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task EmailLink_ToAnotherTenantsSyncOrToNoSync_SaysSoAndShowsNothingOfIt()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant("mail");
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 3 });
        var named = await client.TriggerAsync();
        await client.WaitForEndAsync(named);
        await using var context = await Browser.NewContextAsync();

        var outsider = SyncApp.NewTenant("other");
        var page = await OpenLinkAsync(context, EmailLink(app, tenant, named), await app.TokenForAsync(outsider), $"Signed in to tenant {outsider}, viewing tenant {tenant}");
        await Assertions.Expect(page.Locator("#notice")).ToHaveTextAsync(
            $"You may not see the syncs of tenant {tenant} (signed in to tenant {outsider}): only its own users and administrators may.");
        await Assertions.Expect(page.Locator("#latest-body")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#latest-empty")).ToHaveTextAsync("No sync to show.");

        var missing = SyncId.New(DateTimeOffset.UtcNow);
        var missingPage = await OpenLinkAsync(context, EmailLink(app, tenant, missing), token: null, $"Signed in to tenant {tenant}");
        await Assertions.Expect(missingPage.Locator("#notice")).ToHaveTextAsync($"Sync {missing} does not exist in tenant {tenant}.");
        await Assertions.Expect(missingPage.Locator("#latest-body")).ToBeHiddenAsync();
    }
}
