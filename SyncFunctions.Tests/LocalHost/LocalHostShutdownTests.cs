using SyncFunctions.LocalHost;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.LocalHost;

/// <summary>
/// SIGTERM (what scripts/run.sh's Ctrl-C, a service manager or a deployment sends) to the local host
/// process, during a sync: it exits within its shutdown bound, with its storage up and with its
/// storage gone at the same moment (Azurite stopped with it, as a Ctrl-C used to). Without the bound
/// the Durable extension retries releasing its leases in the unreachable storage for ten minutes.
/// </summary>
public sealed class LocalHostShutdownTests
{
    /// <summary>The host's own bounds on stopping and disposing, with room for a loaded machine.</summary>
    private static readonly TimeSpan Bound = LocalFunctionsHost.ShutdownTimeout + LocalFunctionsHost.DisposeTimeout + TimeSpan.FromSeconds(5);

    [Fact]
    public async Task SigTerm_WithStorageUpDuringASync_ExitsWellWithinTheBoundHavingStoppedTheJobHost()
    {
        await using var host = await LocalHostProcess.StartAsync(new Dictionary<string, string>());
        await StartASyncAsync(host);

        await host.TerminateAsync();
        var exitCode = await host.WaitForExitAsync(Bound);

        Assert.True(exitCode == 0, $"Exit code {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none: still running"} after SIGTERM. Output:\n{Tail(host)}");
        Assert.DoesNotContain(host.Output, line => line.Contains("did not stop within the shutdown timeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SigTerm_WithItsStorageGoneAtTheSameTime_ExitsWithinTheBound()
    {
        using var azurite = await AzuriteServer.StartDedicatedAsync("http");
        await using var host = await LocalHostProcess.StartAsync(new Dictionary<string, string>(), storage: azurite);
        await StartASyncAsync(host); // the Durable extension now owns its partition leases in this Azurite

        azurite.Dispose();
        await host.TerminateAsync();
        var exitCode = await host.WaitForExitAsync(Bound);

        Assert.True(exitCode is not null, $"Still running {Bound.TotalSeconds} s after SIGTERM with its storage gone. Output:\n{Tail(host)}");
    }

    private static async Task StartASyncAsync(LocalHostProcess host)
    {
        var tenant = SyncApp.NewTenant("stop");
        using var client = await host.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 200, item_delay_ms = 100 });
        var syncId = await client.TriggerAsync();
        await client.WaitForSyncAsync(syncId, s => s.GetProperty("files_processed").GetInt32() > 0, "items being processed");
    }

    private static string Tail(LocalHostProcess host) => string.Join('\n', host.Output.TakeLast(30));
}
