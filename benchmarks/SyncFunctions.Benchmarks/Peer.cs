using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SyncFunctions.Benchmarks;

/// <summary>A throwaway PostgreSQL cluster (Debian's packages): initdb + pg_ctl in a temp directory, on a free loopback port.</summary>
internal sealed class Postgres : IAsyncDisposable
{
    private readonly string _dir;
    private readonly string _bin;

    private Postgres(string dir, string bin, int port)
    {
        _dir = dir;
        _bin = bin;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=50";

    public static async Task<Postgres> StartAsync()
    {
        var bin = FindBin();
        if (bin is null)
        {
            Console.WriteLine("PostgreSQL is missing: apt-get install -y postgresql");
            await RunAsync("sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null");
            bin = FindBin() ?? throw new InvalidOperationException("PostgreSQL did not install");
        }

        var dir = Directory.CreateTempSubdirectory("bench-pg-").FullName;
        var port = Repo.FreePort();
        var root = Environment.UserName == "root";
        if (root)
        {
            // initdb refuses root: the cluster belongs to the postgres user Debian's package creates.
            await RunAsync("chown", "postgres:postgres", dir);
        }

        await AsPostgresAsync(root, $"{bin}/initdb -D {dir}/data -A trust -U postgres --no-sync >/dev/null");
        await AsPostgresAsync(root, $"{bin}/pg_ctl -D {dir}/data -l {dir}/log -w -o \"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off\" start >/dev/null");
        return new Postgres(dir, bin, port);
    }

    public async ValueTask DisposeAsync()
    {
        await AsPostgresAsync(Environment.UserName == "root", $"{_bin}/pg_ctl -D {_dir}/data -m immediate -w stop >/dev/null");
        Directory.Delete(_dir, recursive: true);
    }

    private static string? FindBin() =>
        Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().FirstOrDefault() : null;

    private static Task AsPostgresAsync(bool root, string command) => root ? RunAsync("su", "postgres", "-c", command) : RunAsync("sh", "-c", command);

    private static async Task RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, WorkingDirectory = "/tmp" };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {p.ExitCode}");
        }
    }
}

/// <summary>The peer's job: the same demo work as the demo connector (N items, no delay), one job per tenant, one at a time per tenant.</summary>
public static class PeerJobs
{
    internal static readonly ConcurrentDictionary<string, long> Started = new(StringComparer.Ordinal);
    internal static readonly ConcurrentDictionary<string, TaskCompletionSource> Ended = new(StringComparer.Ordinal);

    /// <summary>The lock resource is formatted with the job's arguments, so it is per tenant.</summary>
    [DisableConcurrentExecution("tenant:{0}", 600)]
    public static async Task RunAsync(string tenant, int items, int itemDelayMs, string token)
    {
        Started[token] = Stopwatch.GetTimestamp();
        var documents = new List<string>(items);
        for (var i = 1; i <= items; i++)
        {
            if (itemDelayMs > 0)
            {
                await Task.Delay(itemDelayMs);
            }

            documents.Add(string.Create(CultureInfo.InvariantCulture, $"Synthetic document {i} of {tenant}."));
        }

        Ended.GetOrAdd(token, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>For the kill -9 case: marks where it started (a file named by the process id) and never ends.</summary>
    public static async Task HangAsync(string markerDirectory, CancellationToken cancellationToken)
    {
        await File.WriteAllTextAsync(Path.Combine(markerDirectory, Environment.ProcessId.ToString(CultureInfo.InvariantCulture)), "started", cancellationToken);
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }
}

internal static class Peer
{
    public sealed record Figures(double RunningP50, double RunningP99, Dictionary<int, double> JobsPerSecond, string SecondTrigger, string KilledWorker);

    /// <summary>A Hangfire server as its users set it up: AddHangfire + UsePostgreSqlStorage + AddHangfireServer, defaults.</summary>
    private static IHost BuildHost(string connectionString, bool server)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHangfire(c => c.UsePostgreSqlStorage(o => o.UseNpgsqlConnection(connectionString)));
        if (server)
        {
            builder.Services.AddHangfireServer();
        }

        return builder.Build();
    }

    /// <summary>The child process of the kill -9 case: one Hangfire server, nothing else.</summary>
    public static async Task WorkerMainAsync(string connectionString)
    {
        using var host = BuildHost(connectionString, server: true);
        await host.RunAsync();
    }

    public static async Task<Figures> RunAsync(Report report, int samples, int[] tenantCounts, int items, TimeSpan window)
    {
        await using var pg = await Postgres.StartAsync();
        var figures = await InProcessAsync(pg, report, samples, tenantCounts, items, window);
        var killed = await KilledWorkerAsync(pg, report);
        return figures with { KilledWorker = killed };
    }

    private static async Task<Figures> InProcessAsync(Postgres pg, Report report, int samples, int[] tenantCounts, int items, TimeSpan window)
    {
        using var host = BuildHost(pg.ConnectionString, server: true);
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IBackgroundJobClient>();

        // trigger -> running: enqueue at random moments over the window (its default queue poll is 15 s, so sequential samples would take minutes).
        var latencies = new ConcurrentBag<double>();
        await Task.WhenAll(Enumerable.Range(0, samples).Select(async i =>
        {
            await Task.Delay(Random.Shared.Next(0, 15_000));
            var token = $"lat-{i}";
            var t0 = Stopwatch.GetTimestamp();
            client.Enqueue(() => PeerJobs.RunAsync($"lat-{i}", items, 0, token));
            var end = PeerJobs.Ended.GetOrAdd(token, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            await end.WaitAsync(TimeSpan.FromSeconds(60));
            latencies.Add(Stopwatch.GetElapsedTime(t0, PeerJobs.Started[token]).TotalMilliseconds);
        }));
        var list = latencies.ToList();
        var p50 = Stats.Percentile(list, 50);
        var p99 = Stats.Percentile(list, 99);
        report.Add("peer", "Hangfire trigger -> running, idle", Math.Round(p50), "ms p50", "", $"p95 {Stats.Percentile(list, 95):F0}, p99 {p99:F0}, n={list.Count}; defaults; client and server in one process as in an ASP.NET Core app (10 workers on 2 cores)");

        var jobs = new Dictionary<int, double>();
        foreach (var tenants in tenantCounts)
        {
            long done = 0;
            double seconds = 0;
            var sw = Stopwatch.StartNew();
            using var stop = new CancellationTokenSource(window);
            stop.Token.Register(() => seconds = sw.Elapsed.TotalSeconds);
            await Task.WhenAll(Enumerable.Range(0, tenants).Select(async t =>
            {
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    var token = $"tp{tenants}-{t}-{n}";
                    var end = PeerJobs.Ended.GetOrAdd(token, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                    client.Enqueue(() => PeerJobs.RunAsync($"tp{tenants}-{t}", items, 0, token));
                    await end.WaitAsync(TimeSpan.FromMinutes(2));
                    if (!stop.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref done);
                    }
                }
            }));
            jobs[tenants] = done / seconds;
            report.Add("peer", $"Hangfire jobs/s, {tenants} tenants ({items} items)", Math.Round(done / seconds, 2), "jobs/s", "", $"{done} in {seconds:F1} s");
        }

        // A second trigger for a busy tenant: what the caller gets, and what happens to it.
        var first = "busy-1";
        var firstEnd = PeerJobs.Ended.GetOrAdd(first, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        client.Enqueue(() => PeerJobs.RunAsync("busy", 100, 50, first));
        var sw2 = Stopwatch.StartNew();
        while (!PeerJobs.Started.ContainsKey(first) && sw2.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }

        var secondId = client.Enqueue(() => PeerJobs.RunAsync("busy", 100, 0, "busy-2"));
        var secondEnd = PeerJobs.Ended.GetOrAdd("busy-2", _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        await Task.WhenAll(firstEnd, secondEnd).WaitAsync(TimeSpan.FromSeconds(60));
        var firstEndedAt = Stopwatch.GetTimestamp();
        var overlap = PeerJobs.Started["busy-2"] < PeerJobs.Started[first] + (long)(5.0 * Stopwatch.Frequency) && !firstEnd.IsCompleted;
        var second = $"accepted as job {secondId} (no conflict, no sight of the running job); it waited in a worker for the tenant lock and ran {Stopwatch.GetElapsedTime(PeerJobs.Started[first], PeerJobs.Started["busy-2"]).TotalSeconds:F1} s after the first started (the first takes ~5 s): a second full run{(overlap ? "; OVERLAPPED" : "")}";
        report.Add("peer", "Hangfire second trigger for a busy tenant", double.NaN, "", "", second);
        _ = firstEndedAt;
        await host.StopAsync();
        return new Figures(p50, p99, jobs, second, "");
    }

    private static async Task<string> KilledWorkerAsync(Postgres pg, Report report)
    {
        using var host = BuildHost(pg.ConnectionString, server: false);
        var client = host.Services.GetRequiredService<IBackgroundJobClient>();
        var markers = Directory.CreateTempSubdirectory("bench-hangfire-").FullName;
        var first = await StartWorkerAsync(pg.ConnectionString);
        var id = client.Enqueue(() => PeerJobs.HangAsync(markers, CancellationToken.None));
        var sw = Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(markers, first.Id.ToString(CultureInfo.InvariantCulture))) && sw.Elapsed < TimeSpan.FromSeconds(40))
        {
            await Task.Delay(100);
        }

        first.Kill(entireProcessTree: true);
        await first.WaitForExitAsync();
        var killedAt = Stopwatch.StartNew();
        var second = await StartWorkerAsync(pg.ConnectionString);
        var bound = TimeSpan.FromSeconds(60);
        var secondMarker = Path.Combine(markers, second.Id.ToString(CultureInfo.InvariantCulture));
        while (!File.Exists(secondMarker) && killedAt.Elapsed < bound)
        {
            await Task.Delay(250);
        }

        var state = host.Services.GetRequiredService<JobStorage>().GetMonitoringApi().JobDetails(id)?.History.FirstOrDefault()?.StateName ?? "?";
        var text = File.Exists(secondMarker)
            ? $"retried {killedAt.Elapsed.TotalSeconds:F0} s after kill -9"
            : $"still '{state}' {bound.TotalSeconds:F0} s after kill -9 (bound of this run; Hangfire.PostgreSql's default InvisibilityTimeout is 30 min)";
        report.Add("peer", "Hangfire job whose worker got kill -9", File.Exists(secondMarker) ? killedAt.Elapsed.TotalSeconds : double.NaN, "s until retried", "", text);
        second.Kill(entireProcessTree: true);
        await second.WaitForExitAsync();
        Directory.Delete(markers, recursive: true);
        return text;
    }

    private static async Task<Process> StartWorkerAsync(string connectionString)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(Peer).Assembly.Location);
        }

        start.ArgumentList.Add("hangfire-worker");
        start.ArgumentList.Add(connectionString);
        var p = Process.Start(start)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        await Task.Delay(500);
        return p;
    }
}
