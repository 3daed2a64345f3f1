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
public sealed class AzuriteServer : IDisposable
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly Lazy<Task<AzuriteServer>> Instance = new(StartSharedAsync);
    private readonly Process? _process;
    private int _disposed;

    private AzuriteServer(string connectionString, Process? process = null, string scheme = "http", (int Blob, int Queue, int Table) ports = default)
    {
        ConnectionString = connectionString;
        _process = process;
        BlobEndpoint = new Uri($"{scheme}://127.0.0.1:{ports.Blob}/devstoreaccount1");
        QueueEndpoint = new Uri($"{scheme}://127.0.0.1:{ports.Queue}/devstoreaccount1");
        TableEndpoint = new Uri($"{scheme}://127.0.0.1:{ports.Table}/devstoreaccount1");
    }

    public string ConnectionString { get; }

    public Uri BlobEndpoint { get; }

    public Uri QueueEndpoint { get; }

    public Uri TableEndpoint { get; }

    public static Task<AzuriteServer> GetAsync() => Instance.Value;

    /// <summary>An Azurite of one test's own, with extra options (HTTPS, OAuth); disposing it stops it.</summary>
    public static Task<AzuriteServer> StartDedicatedAsync(string scheme, params string[] extraArguments) => StartAsync(scheme, extraArguments);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return; // a test may stop its Azurite early, before the using block ends
        }

        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
        }

        _process?.Dispose();
    }

    private static Task<AzuriteServer> StartSharedAsync() =>
        Environment.GetEnvironmentVariable("SYNC_TEST_STORAGE_CONNECTION_STRING") is { Length: > 0 } external
            ? Task.FromResult(new AzuriteServer(external))
            : StartAsync("http", []);

    private static async Task<AzuriteServer> StartAsync(string scheme, string[] extraArguments)
    {

        var executable = Path.Combine(RepoRoot.Find(), "node_modules", ".bin", "azurite");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Azurite is not installed at {executable}: run ./scripts/test.sh (it runs npm ci), or npm ci in the repo root.");
        }

        var (blob, queue, table) = (ChildProcesses.FreePort(), ChildProcesses.FreePort(), ChildProcesses.FreePort());
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
                 }.Concat(extraArguments))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Azurite did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        ChildProcesses.Track(process);

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        foreach (var port in new[] { blob, queue, table })
        {
            await ChildProcesses.WaitForPortAsync("Azurite", port, process, deadline.Token).ConfigureAwait(false);
        }

        return new AzuriteServer(
            $"DefaultEndpointsProtocol={scheme};AccountName=devstoreaccount1;AccountKey={AccountKey};" +
            $"BlobEndpoint={scheme}://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint={scheme}://127.0.0.1:{queue}/devstoreaccount1;TableEndpoint={scheme}://127.0.0.1:{table}/devstoreaccount1;",
            process,
            scheme,
            (blob, queue, table));
    }
}
