using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SyncFunctions.Tests.Infrastructure;

/// <summary>
/// One real Azurite per test run, started on free loopback ports with in-memory storage (the repo pins
/// it in package.json; the test command installs it). Tests keep apart by table/queue prefix and
/// tenant ids, so they share it and run in parallel. SYNC_TEST_STORAGE_CONNECTION_STRING points the
/// tests at an Azurite (or account) already running instead.
/// </summary>
public sealed class AzuriteServer
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly Lazy<Task<AzuriteServer>> Instance = new(StartAsync);

    private AzuriteServer(string connectionString) => ConnectionString = connectionString;

    public string ConnectionString { get; }

    public static Task<AzuriteServer> GetAsync() => Instance.Value;

    private static async Task<AzuriteServer> StartAsync()
    {
        if (Environment.GetEnvironmentVariable("SYNC_TEST_STORAGE_CONNECTION_STRING") is { Length: > 0 } external)
        {
            return new AzuriteServer(external);
        }

        var executable = Path.Combine(RepoRoot.Find(), "node_modules", ".bin", "azurite");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Azurite is not installed at {executable}: run ./scripts/test.sh (it runs npm ci), or npm ci in the repo root.");
        }

        var (blob, queue, table) = (FreePort(), FreePort(), FreePort());
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry",
                     "--blobHost", "127.0.0.1", "--blobPort", blob.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--queueHost", "127.0.0.1", "--queuePort", queue.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--tableHost", "127.0.0.1", "--tablePort", table.ToString(System.Globalization.CultureInfo.InvariantCulture),
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Azurite did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        };

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        foreach (var port in new[] { blob, queue, table })
        {
            await WaitForPortAsync(port, process, deadline.Token).ConfigureAwait(false);
        }

        return new AzuriteServer(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
            $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port, Process process, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {process.ExitCode} before listening on {port}.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
