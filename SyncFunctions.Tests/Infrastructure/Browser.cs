using Microsoft.Playwright;

namespace SyncFunctions.Tests.Infrastructure;

/// <summary>
/// One headless Chromium per test run: Debian's package (the test command installs it when missing),
/// driven by Playwright with its own browser download never used. Tests open their own context.
/// </summary>
public static class Browser
{
    private static readonly Lazy<Task<IBrowser>> Instance = new(LaunchAsync);

    public static string ArtifactsDirectory { get; } = Directory.CreateDirectory(Path.Combine(RepoRoot.Find(), "artifacts", "screenshots")).FullName;

    public static async Task<IBrowserContext> NewContextAsync(int width = 1200, int height = 900)
    {
        var browser = await Instance.Value;
        return await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
    }

    private static async Task<IBrowser> LaunchAsync()
    {
        var executable = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Chromium is not installed at {executable}: run ./scripts/test.sh (it installs Debian's chromium package), or set CHROMIUM_PATH.");
        }

        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            // Without the networking switches Chromium keeps dialling out, and this machine refuses it.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        AppDomain.CurrentDomain.ProcessExit += (_, _) => playwright.Dispose();
        return browser;
    }
}
