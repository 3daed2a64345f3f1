using Microsoft.Playwright;
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
        await page.WaitForFunctionAsync("() => Number(document.getElementById('modal-bar').getAttribute('aria-valuenow')) >= 40");
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
    public async Task SyncNow_WhileASyncRuns_ShowsThatSyncsProgressNotAnError()
    {
        await using var app = await SyncApp.StartAsync();
        var tenant = SyncApp.NewTenant("dash");
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 10, hang_after = 2 });
        var running = await client.TriggerAsync();
        await client.WaitForSyncAsync(running, s => s.GetProperty("files_processed").GetInt32() == 2, "two items processed");
        await using var context = await Browser.NewContextAsync();
        var page = await OpenAsync(context, app, tenant);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sync now", Exact = true }).ClickAsync();

        await Assertions.Expect(page.Locator("#modal-title")).ToHaveTextAsync("A sync is already running");
        await Assertions.Expect(page.Locator("#modal-found")).ToHaveTextAsync("10");
        await Assertions.Expect(page.Locator("#modal-processed")).ToHaveTextAsync("2");
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
}
