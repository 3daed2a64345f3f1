using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Telemetry;

/// <summary>What an operator sees in the terminal of a local host with no exporter configured.</summary>
public sealed class ConsoleOutputTests
{
    private static readonly Dictionary<string, string> InformationLogs = new() { ["Logging__LogLevel__Default"] = "Information" };

    [Fact]
    public async Task Console_ByDefault_ShowsTheLogLinesWithoutSpansOrMetrics()
    {
        var output = await SyncAndReadConsoleAsync(InformationLogs, "completed successfully");

        Assert.DoesNotContain(output, l => l.Contains("Activity.DisplayName", StringComparison.Ordinal) || l.Contains("Metric Name", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Console_WhenAskedForTelemetry_AlsoShowsTheEngineSpans()
    {
        // The console logger writes from its own queue, so the span may come out before or after the end's log line.
        var output = await SyncAndReadConsoleAsync(new(InformationLogs) { ["SYNC_TELEMETRY_CONSOLE"] = "true" }, "sync.run", "completed successfully");

        Assert.Contains(output, l => l.Contains("Activity.DisplayName", StringComparison.Ordinal) && l.Contains("sync.run", StringComparison.Ordinal));
        Assert.Contains(output, l => l.Contains("completed successfully", StringComparison.Ordinal));
    }

    /// <summary>The console once a demo sync has ended and a line with each of <paramref name="awaited"/> has been written.</summary>
    private static async Task<IReadOnlyList<string>> SyncAndReadConsoleAsync(Dictionary<string, string> settings, params string[] awaited)
    {
        var tenant = SyncApp.NewTenant("console");
        await using var host = await LocalHostProcess.StartAsync(settings);
        using var client = await host.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 3 });
        var syncId = await client.TriggerAsync();
        await client.WaitForEndAsync(syncId);

        // The end's log line and the run's span follow the status the client saw.
        return await Eventually.MatchAsync(
            () => Task.FromResult(host.Output),
            o => awaited.All(a => o.Any(l => l.Contains(a, StringComparison.Ordinal))),
            $"console lines with '{string.Join("', '", awaited)}'");
    }
}
