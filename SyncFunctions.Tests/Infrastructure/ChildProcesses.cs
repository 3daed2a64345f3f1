using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SyncFunctions.Tests.Infrastructure;

/// <summary>
/// The tools the tests start (Azurite, MailDev), killed by one exit handler. It is registered on first
/// use, before any slower handler (Playwright's), because the test runner may end the process before
/// later handlers run, and a tool left running outlives the run.
/// </summary>
internal static class ChildProcesses
{
    private static readonly ConcurrentBag<Process> Processes = [];

    static ChildProcesses() => AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();

    public static void Track(Process process) => Processes.Add(process);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until the tool accepts connections on the port, failing at once if it exits first.</summary>
    public static async Task WaitForPortAsync(string tool, int port, Process process, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{tool} exited with code {process.ExitCode} before listening on {port}.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false); // bounded by the caller's deadline
            }
        }
    }

    private static void KillAll()
    {
        foreach (var process in Processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
                // It exited between the check and the kill: nothing left to stop.
            }
        }
    }
}
