using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Builder;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SyncFunctions.LocalHost;
using SyncFunctions.LocalHost.Durable;
using SyncFunctions.Locking;

namespace SyncFunctions.Benchmarks;

internal static class Repo
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SyncFunctions.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Run from inside the repository (SyncFunctions.slnx not found above the binary).");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task WaitForPortAsync(int port, TimeSpan timeout, Func<bool>? exited = null)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (exited?.Invoke() == true)
            {
                throw new InvalidOperationException($"the process exited before listening on {port}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (sw.Elapsed < timeout)
            {
                await Task.Delay(100);
            }
        }
    }
}

/// <summary>Azurite from node_modules on free loopback ports; with a location it can be stopped and started again with its data.</summary>
internal sealed class Azurite : IAsyncDisposable
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly int _blob = Repo.FreePort(), _queue = Repo.FreePort(), _table = Repo.FreePort();
    private readonly string? _location;
    private Process? _process;

    private Azurite(string? location) => _location = location;

    public string ConnectionString => ConnectionStringFor(_blob, _queue, _table);

    public int BlobPort => _blob;

    public int QueuePort => _queue;

    public int TablePort => _table;

    /// <summary>Azurite's account on the given loopback ports: its own, or a proxy's in front of it.</summary>
    public static string ConnectionStringFor(int blob, int queue, int table) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;";

    public static async Task<Azurite> StartAsync(string? location = null)
    {
        var azurite = new Azurite(location);
        await azurite.StartAgainAsync();
        return azurite;
    }

    public async Task StartAgainAsync()
    {
        var executable = Path.Combine(Repo.Root, "node_modules", ".bin", "azurite");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Azurite is not installed at {executable}: run npm ci (./scripts/bench.sh does).");
        }

        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var args = new List<string> { "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry" };
        args.AddRange(_location is null ? ["--inMemoryPersistence"] : ["--location", _location]);
        args.AddRange(["--blobHost", "127.0.0.1", "--blobPort", I(_blob), "--queueHost", "127.0.0.1", "--queuePort", I(_queue), "--tableHost", "127.0.0.1", "--tablePort", I(_table)]);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var p = _process;
        foreach (var port in new[] { _blob, _queue, _table })
        {
            await Repo.WaitForPortAsync(port, TimeSpan.FromSeconds(60), () => p.HasExited);
        }
    }

    /// <summary>A clean stop (SIGINT), so Azurite writes its data to the location; killed if it does not stop within 15 s.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            using (var kill = Process.Start("kill", ["-INT", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private static string I(int n) => n.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// The real app in this process, as the local host runs it (the Function App's own functions on the real Durable
/// extension), on Kestrel (loopback, a free port), so its StorageRequestCounter, services and Durable client can be read.
/// </summary>
internal sealed class InProcessApp : IAsyncDisposable
{
    private static readonly TimeSpan DisposeBound = TimeSpan.FromSeconds(10);
    private readonly WebApplication _app;

    private InProcessApp(WebApplication app, Completions ends)
    {
        _app = app;
        Ends = ends;
        BaseUri = new Uri(app.Urls.First());
    }

    /// <summary>Where Kestrel listens (loopback, a free port).</summary>
    public Uri BaseUri { get; }

    public Completions Ends { get; }

    /// <param name="prefix">Apps given the same prefix share storage and task hub: instances of one deployment.</param>
    /// <param name="functionApp">The functions to serve: the app's, or the textbook peer's (the same host, extension and settings).</param>
    public static async Task<InProcessApp> StartAsync(string connectionString, string prefix, IReadOnlyDictionary<string, string?>? settings = null, System.Reflection.Assembly? functionApp = null)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["SYNC_STORAGE_PREFIX"] = prefix,
            ["SYNC_TASK_HUB"] = TaskHub(prefix),
            ["AUTH_DEV_SIGNING_KEY"] = "bench-signing-key-0123456789-abcdefghijklmnop",
            ["SYNC_DEMO_TENANT"] = "",
            ["SYNC_TELEMETRY_CONSOLE"] = "false",
            // host.json's default (Information) is read after the app's Logging section and would win over it.
            ["Logging:LogLevel:Default"] = "Warning",
            ["AzureWebJobs:logging:logLevel:default"] = "Warning",
            // The end of each sync (Completions) is logged by SyncFunctions.Sync.SyncActivities.
            ["Logging:LogLevel:SyncFunctions.Sync"] = "Information",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
        {
            all[k] = v;
        }

        var ends = new Completions();
        var app = LocalFunctionsHost.Create(
            ["--urls", "http://127.0.0.1:0", "--environment", "Development"],
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(all);
                builder.Logging.ClearProviders();
                builder.Logging.AddProvider(ends);
            },
            functionApp);
        try
        {
            using var starting = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await app.StartAsync(starting.Token);
        }
        catch (Exception)
        {
            // A host that failed to start is still disposed; the failure goes on to the scenario.
            await app.DisposeAsync();
            throw;
        }

        return new InProcessApp(app, ends);
    }

    public T Get<T>()
        where T : notnull => _app.Services.GetRequiredService<T>();

    /// <summary>The app's own Durable client (bounded: it exists once the extension has started).</summary>
    public async Task<DurableTaskClient> DurableAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await Get<LocalDurableClient>().GetAsync(timeout.Token);
    }

    public static string NewPrefix() => "b" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));

    /// <summary>The Durable task hub of a prefix (letters and digits, starting with a letter): one per deployment, shared by its instances.</summary>
    public static string TaskHub(string prefix) => prefix + "hub";

    /// <summary>
    /// Stops the host within its shutdown timeout and disposes it within <see cref="DisposeBound"/>, so that a host
    /// stopped under load (tens of thousands of queued activities) costs the run seconds, not minutes.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var sw = Stopwatch.StartNew();
        using var stopping = new CancellationTokenSource(LocalFunctionsHost.ShutdownTimeout);
        try
        {
            await _app.StopAsync(stopping.Token);
        }
        finally
        {
            // The JobHost's Dispose blocks on its own stop: on a pool thread, and left to finish on its own past the bound.
            var disposal = Task.Run(async () => await _app.DisposeAsync());
            if (await Task.WhenAny(disposal, Task.Delay(DisposeBound)) != disposal)
            {
                Console.WriteLine($"  (host not disposed within {DisposeBound.TotalSeconds:F0} s; left to finish in the background)");
            }

            if (sw.Elapsed > TimeSpan.FromSeconds(5))
            {
                Console.WriteLine($"  (host stop took {sw.Elapsed.TotalSeconds:F0} s)");
            }
        }
    }
}

/// <summary>The tenant lock (a Durable entity), read through a Durable client.</summary>
internal static class Engine
{
    /// <summary>Who holds the tenant, or null when its lock is free (a free lock is a deleted entity).</summary>
    public static async Task<TenantLockState?> HolderAsync(DurableTaskClient client, string tenantId, CancellationToken cancellationToken = default) =>
        (await client.Entities.GetEntityAsync<TenantLockState>(TenantLock.For(tenantId), cancellation: cancellationToken))?.State;
}

/// <summary>
/// The task hub's Instances table read straight from Azurite, not through the counting proxy: the harness's waiting
/// (the Durable client's status queries would be storage requests too) must not count as a sync's requests.
/// </summary>
internal sealed class HubInstances(string azuriteConnectionString, string taskHub)
{
    private static readonly string[] Ended = ["Completed", "Failed", "Terminated", "Canceled"];
    private readonly TableClient _instances = new(azuriteConnectionString, taskHub + "Instances");
    private readonly TableClient _partitions = new(azuriteConnectionString, taskHub + "Partitions");

    /// <summary>
    /// The worker that owns the hub's control-queue partition now, from the table partition manager's Partitions
    /// table (one row per partition; this hub has one): the process whose death holds every orchestration and entity
    /// of the hub still until its lease runs out. Null before a worker has claimed it.
    /// </summary>
    public async Task<string?> PartitionOwnerAsync()
    {
        await foreach (var row in _partitions.QueryAsync<TableEntity>(select: ["CurrentOwner"]))
        {
            return row.GetString("CurrentOwner");
        }

        return null;
    }

    /// <summary>Waits (bounded) until the instance's row says it ended: the backend's last write of the orchestration.</summary>
    public async Task<bool> WaitForEndAsync(string instanceId, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            var row = await _instances.GetEntityIfExistsAsync<TableEntity>(instanceId, "", ["RuntimeStatus"]);
            if (row.HasValue && Ended.Contains(row.Value!.GetString("RuntimeStatus")))
            {
                return true;
            }

            await Task.Delay(20);
        }

        return false;
    }

    /// <summary>Waits (bounded) until no sync's orchestration is pending or running (entities, ids starting with '@', stay "Running").</summary>
    public async Task<bool> WaitUntilNoSyncInFlightAsync(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            var inFlight = false;
            await foreach (var row in _instances.QueryAsync<TableEntity>("RuntimeStatus eq 'Running' or RuntimeStatus eq 'Pending'", select: ["PartitionKey"]))
            {
                if (!row.PartitionKey.StartsWith('@'))
                {
                    inFlight = true;
                    break;
                }
            }

            if (!inFlight)
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }
}

/// <summary>The end of each sync, from the engine's own log lines ("Sync {id} completed successfully", "... failed ..."), so waiting costs no polling.</summary>
internal sealed partial class Completions : ILoggerProvider, ILogger
{
    private const int PrintedErrors = 20;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _ends = new(StringComparer.Ordinal);
    private int _errors;

    /// <summary>Error (and critical) lines the host logged so far.</summary>
    public int Errors => Volatile.Read(ref _errors);

    public Task<string> EndOf(string syncId) => _ends.GetOrAdd(syncId, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public ILogger CreateLogger(string categoryName) => this;

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        // Some of the WebJobs host's own messages format to nothing.
        if (formatter(state, exception) is not { } line)
        {
            return;
        }

        if (logLevel >= LogLevel.Error)
        {
            // The app's errors are part of what a fault scenario shows: one line each (the engine's carry whole stack
            // traces), and past the first few only counted, so an overloaded engine's retries do not bury the table.
            var count = Interlocked.Increment(ref _errors);
            if (count <= PrintedErrors)
            {
                Console.WriteLine($"  app {logLevel}: {FirstLine(line)}{(exception is null ? "" : $" ({exception.GetType().Name}: {FirstLine(exception.Message)})")}");
            }
            else if (count == PrintedErrors + 1)
            {
                Console.WriteLine($"  app: more than {PrintedErrors} errors; the rest are counted, not printed");
            }
        }

        var m = EndLine().Match(line);
        if (m.Success)
        {
            _ends.GetOrAdd(m.Groups[1].Value, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(m.Groups[2].Value);
        }
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].TrimEnd();

    [GeneratedRegex(@"^Sync ([0-9A-Z]{26}) (completed successfully|timed out|failed.*)$")]
    private static partial Regex EndLine();
}

/// <summary>The app as a real process (dotnet SyncFunctions.LocalHost.dll from its Release build output), for kill -9.</summary>
internal sealed class ChildApp : IAsyncDisposable
{
    private readonly Process _process;

    private ChildApp(Process process, int port)
    {
        _process = process;
        Port = port;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public int Port { get; }

    public HttpClient Http { get; }

    public int Pid => _process.Id;

    public bool Exited => _process.HasExited;

    public static string AppDll
    {
        get
        {
            var dll = Path.Combine(Repo.Root, "SyncFunctions.LocalHost", "bin", "Release", "net10.0", "SyncFunctions.LocalHost.dll");
            return File.Exists(dll) ? dll : throw new InvalidOperationException($"{dll} is missing: dotnet build SyncFunctions.LocalHost -c Release first (./scripts/bench.sh does).");
        }
    }

    /// <param name="program">What dotnet runs: the local host's dll (the app) unless given, e.g. this benchmark's textbook-host mode.</param>
    public static async Task<ChildApp> StartAsync(string connectionString, string prefix, IReadOnlyDictionary<string, string> env, int? port = null, IReadOnlyList<string>? program = null)
    {
        var p = port ?? Repo.FreePort();
        program ??= [AppDll];
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(program[0])! };
        foreach (var arg in program)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["AzureWebJobsStorage"] = connectionString;
        start.Environment["SYNC_STORAGE_PREFIX"] = prefix;
        start.Environment["SYNC_TASK_HUB"] = InProcessApp.TaskHub(prefix);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["AUTH_DEV_SIGNING_KEY"] = "bench-signing-key-0123456789-abcdefghijklmnop";
        start.Environment["SYNC_TELEMETRY_CONSOLE"] = "false";
        start.Environment["SYNC_DEMO_TENANT"] = "";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["AzureWebJobs__logging__logLevel__default"] = "Warning";
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{p}";

        foreach (var (k, v) in env)
        {
            start.Environment[k] = v;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Repo.WaitForPortAsync(p, TimeSpan.FromSeconds(60), () => process.HasExited);
        }
        catch (Exception)
        {
            // One that never listened is not left running (it would load the machine for every later scenario).
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
            throw;
        }

        return new ChildApp(process, p);
    }

    /// <summary>kill -9: no shutdown, no finally blocks, no lease release.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Http.Dispose();
        _process.Dispose();
    }
}

internal static class Api
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<HttpClient> ClientForAsync(Uri baseAddress, string tenant, HttpMessageHandler? handler = null, TimeSpan? timeout = null)
    {
        var client = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        client.BaseAddress = baseAddress;
        client.Timeout = timeout ?? TimeSpan.FromSeconds(60);
        var r = await client.PostAsJsonAsync("/api/dev/token", new { tenant_id = tenant, email = $"bench@{tenant}.example" });
        r.EnsureSuccessStatusCode();
        var token = (await r.Content.ReadFromJsonAsync<JsonElement>(Json)).GetProperty("access_token").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public static async Task PutDemoAsync(HttpClient client, object settings)
    {
        var r = await client.PutAsJsonAsync("/api/v1/connections/demo", new { settings });
        if (!r.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT demo: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>POST /api/v1/sync: the status code and the sync id (when 202).</summary>
    public static async Task<(HttpStatusCode Status, string? SyncId)> TriggerAsync(HttpClient client)
    {
        using var r = await client.PostAsync("/api/v1/sync", null);
        var body = await r.Content.ReadAsStringAsync();
        return r.StatusCode == HttpStatusCode.Accepted
            ? (r.StatusCode, JsonDocument.Parse(body).RootElement.GetProperty("sync_id").GetString())
            : (r.StatusCode, null);
    }

    /// <summary>
    /// POST /api/v1/sync until it answers 202, as a client would: <paramref name="onConflict"/> is told of each 409
    /// (which costs storage requests too), <paramref name="onUnavailable"/> of each 503 (the engine did not decide
    /// within its 30 s and withdrew that sync; a saturated engine answers so), and both are tried again, a 503
    /// only until <paramref name="giveUp"/> is cancelled (then OperationCanceledException).
    /// </summary>
    public static async Task<string> TriggerOkAsync(HttpClient client, Action? onConflict = null, Action? onUnavailable = null, CancellationToken giveUp = default)
    {
        for (var i = 0; ; i++)
        {
            var (status, id) = await TriggerAsync(client);
            if (id is not null)
            {
                return id;
            }

            // 409: the previous sync's lock is released just after its end is logged.
            if (status is not (HttpStatusCode.Conflict or HttpStatusCode.ServiceUnavailable) || i > 200)
            {
                throw new InvalidOperationException($"trigger answered {(int)status}");
            }

            (status == HttpStatusCode.Conflict ? onConflict : onUnavailable)?.Invoke();
            if (status == HttpStatusCode.ServiceUnavailable)
            {
                giveUp.ThrowIfCancellationRequested();
            }

            await Task.Delay(status == HttpStatusCode.Conflict ? 20 : 1_000, CancellationToken.None);
        }
    }

    public static async Task<JsonElement> GetSyncAsync(HttpClient client, string syncId)
    {
        using var r = await client.GetAsync($"/api/v1/sync/{syncId}");
        r.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public static string Status(JsonElement sync) => sync.GetProperty("status").GetString()!;

    public static bool Ended(JsonElement sync) => Status(sync) is "completed" or "failed" or "cancelled";

    public static async Task<JsonElement> WaitForAsync(HttpClient client, string syncId, Func<JsonElement, bool> done, TimeSpan timeout, int pollMs = 250)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var s = await GetSyncAsync(client, syncId);
                if (done(s) || sw.Elapsed > timeout)
                {
                    return s;
                }
            }
            catch (HttpRequestException) when (sw.Elapsed < timeout)
            {
                // The instance asked may be the one just killed or restarting; ask again.
            }

            await Task.Delay(pollMs);
        }
    }
}

internal static class Stats
{
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}
