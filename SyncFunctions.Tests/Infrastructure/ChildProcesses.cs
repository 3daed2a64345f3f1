using System.Collections.Concurrent;
using System.Diagnostics;

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
