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

    /// <summary>
    /// Bench.Main hands the child only its connection string, so the one setting the kill -9 case varies
    /// reaches the child through its environment.
    /// </summary>
    private const string InvisibilityVariable = "BENCH_HANGFIRE_INVISIBILITY_SECONDS";

    /// <summary>The kill -9 cases run at the same time, each on a schema of its own, so neither's servers take the other's job.</summary>
    private const string SchemaVariable = "BENCH_HANGFIRE_SCHEMA";

    /// <summary>
    /// A Hangfire server as its users set it up: AddHangfire + UsePostgreSqlStorage + AddHangfireServer, defaults;
    /// <paramref name="invisibility"/> sets the documented PostgreSqlStorageOptions.InvisibilityTimeout instead of its default (30 min).
    /// </summary>
    private static IHost BuildHost(string connectionString, bool server, TimeSpan? invisibility = null, string? schema = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHangfire(c =>
        {
            var options = new PostgreSqlStorageOptions();
            if (invisibility is { } timeout)
            {
                options.InvisibilityTimeout = timeout;
            }

            if (schema is not null)
            {
                options.SchemaName = schema;
            }

            c.UsePostgreSqlStorage(o => o.UseNpgsqlConnection(connectionString), options);
        });
        if (server)
        {
            builder.Services.AddHangfireServer();
        }

        return builder.Build();
    }

    /// <summary>The child process of the kill -9 case: one Hangfire server, nothing else (its InvisibilityTimeout from the environment when the parent set one).</summary>
    public static async Task WorkerMainAsync(string connectionString)
    {
        var seconds = Environment.GetEnvironmentVariable(InvisibilityVariable);
        TimeSpan? invisibility = string.IsNullOrEmpty(seconds) ? null : TimeSpan.FromSeconds(double.Parse(seconds, CultureInfo.InvariantCulture));
        using var host = BuildHost(connectionString, server: true, invisibility, Environment.GetEnvironmentVariable(SchemaVariable));
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
        // Three windows per tenant count, the median reported: with defaults the rate swings between runs (10 tenants
        // measured 36, 49, 94 and 232 jobs/s in four single-window runs), far more than ours does.
        foreach (var tenants in tenantCounts)
        {
            var rates = new List<double>();
            for (var w = 0; w < 3; w++)
            {
                rates.Add(await JobsPerSecondAsync(client, tenants, items, window / 2, $"tp{tenants}w{w}"));
            }

            var median = Stats.Percentile(rates, 50);
            jobs[tenants] = median;
            report.Add("peer", $"Hangfire jobs/s, {tenants} tenants ({items} items)", Math.Round(median, 2), "jobs/s", "",
                $"median of three {(window / 2).TotalSeconds:F0} s windows: {string.Join(", ", rates.Select(r => r.ToString("F1", CultureInfo.InvariantCulture)))}");
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

    /// <summary>
    /// How long a job whose server got kill -9 stays 'Processing'. Hangfire.PostgreSql 1.21.1 has no owner or heartbeat on a fetched job:
    /// the fetch (PostgreSqlJobQueue.Dequeue_Transaction) stamps jobqueue.fetchedat = NOW() and takes again only a job whose fetchedat is
    /// older than InvisibilityTimeout (PostgreSqlStorageOptions: 30 min by default; QueuePollInterval 15 s; UseSlidingInvisibilityTimeout off).
    /// So the defaults case is bounded here (it only shows that nothing happens soon), and the same kill with a short InvisibilityTimeout
    /// measures the mechanism: retried at about the timeout plus up to one queue poll, which with defaults is ~30 min.
    /// </summary>
    /// <summary>Jobs completed per second while each tenant enqueues its next job as soon as its last one ended.</summary>
    private static async Task<double> JobsPerSecondAsync(IBackgroundJobClient client, int tenants, int items, TimeSpan window, string label)
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
                var token = $"{label}-{t}-{n}";
                var end = PeerJobs.Ended.GetOrAdd(token, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                client.Enqueue(() => PeerJobs.RunAsync($"{label}-{t}", items, 0, token));
                await end.WaitAsync(TimeSpan.FromMinutes(2));
                if (!stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref done);
                }
            }
        }));
        return done / seconds;
    }

    private static async Task<string> KilledWorkerAsync(Postgres pg, Report report)
    {
        var invisibility = TimeSpan.FromSeconds(20);
        // Both cases at once: each is mostly a wait on a timer (a 15 s queue poll, then the invisibility timeout), on a schema of its own.
        var defaultsCase = KillOnceAsync(pg, "hangfire_kill_defaults", invisibility: null, TimeSpan.FromSeconds(40));
        var shortCase = KillOnceAsync(pg, "hangfire_kill_short", invisibility, TimeSpan.FromSeconds(90));
        var defaults = await defaultsCase;
        var shortened = await shortCase;
        var defaultsText = defaults.Retried is { } d
            ? $"retried {d:F0} s after kill -9, against a default InvisibilityTimeout of 30 min: look into it"
            : $"still '{defaults.State}' {defaults.Bound.TotalSeconds:F0} s after kill -9 (bound of this run): default InvisibilityTimeout 30 min (PostgreSqlStorageOptions), and the fetch re-takes a job only once its fetchedat is older than that";
        report.Add("peer", "Hangfire job whose worker got kill -9, defaults", defaults.Retried ?? double.NaN, "s until retried", "", defaults.Failure ?? defaultsText);

        var shortText = shortened.Retried is { } r
            ? $"retried {r:F0} s after kill -9 ({shortened.SinceFirstStart:F0} s after it first started) on the new server = InvisibilityTimeout {invisibility.TotalSeconds:F0} s + up to one 15 s QueuePollInterval (defaults otherwise), so with defaults it stays 'Processing' ~30 min; a timeout this short also re-runs a live job that outlasts it unless UseSlidingInvisibilityTimeout is on"
            : $"still '{shortened.State}' {shortened.Bound.TotalSeconds:F0} s after kill -9 with InvisibilityTimeout {invisibility.TotalSeconds:F0} s (bound of this run): look into it";
        report.Add("peer", $"Hangfire job whose worker got kill -9, InvisibilityTimeout={invisibility.TotalSeconds:F0} s", shortened.Retried ?? double.NaN, "s until retried", "", shortened.Failure ?? shortText);

        // The ratio section prints this: each case as it came out, so a surprise there shows as one.
        static string Outcome(KillOutcome o) => o.Failure ?? (o.Retried is { } s ? $"retried {s:F0} s after kill -9" : $"still '{o.State}' {o.Bound.TotalSeconds:F0} s after kill -9");
        return $"'Processing' until InvisibilityTimeout (default 30 min) plus up to one 15 s queue poll: with defaults {Outcome(defaults)}, with InvisibilityTimeout={invisibility.TotalSeconds:F0} s {Outcome(shortened)}";
    }

    private sealed record KillOutcome(double? Retried, double SinceFirstStart, string State, TimeSpan Bound, string? Failure);

    /// <summary>
    /// One kill -9: a server process runs a job that never ends, it is killed, a new server with the same settings starts, and the job is
    /// watched for a start on the new server until <paramref name="bound"/> after the kill.
    /// </summary>
    private static async Task<KillOutcome> KillOnceAsync(Postgres pg, string schema, TimeSpan? invisibility, TimeSpan bound)
    {
        // A client without a server, on the case's schema: it enqueues the job and reads its state.
        using var host = BuildHost(pg.ConnectionString, server: false, schema: schema);
        var client = host.Services.GetRequiredService<IBackgroundJobClient>();
        var monitoring = host.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        // Its own marker directory: a marker names the process the job started in, and no other case's job can write here.
        var markers = Directory.CreateTempSubdirectory("bench-hangfire-").FullName;
        var first = await StartWorkerAsync(pg.ConnectionString, schema, invisibility);
        var id = client.Enqueue(() => PeerJobs.HangAsync(markers, CancellationToken.None));
        var firstMarker = Path.Combine(markers, first.Id.ToString(CultureInfo.InvariantCulture));

        // The first server's workers poll every 15 s, so the job starts within about that.
        var sw = Stopwatch.StartNew();
        while (!File.Exists(firstMarker) && sw.Elapsed < TimeSpan.FromSeconds(40))
        {
            await Task.Delay(100);
        }

        var firstStarted = Stopwatch.StartNew();
        var startedOnFirst = File.Exists(firstMarker);
        first.Kill(entireProcessTree: true);
        await first.WaitForExitAsync();
        var killedAt = Stopwatch.StartNew();
        Process? second = null;
        var secondMarker = "";
        if (startedOnFirst)
        {
            second = await StartWorkerAsync(pg.ConnectionString, schema, invisibility);
            secondMarker = Path.Combine(markers, second.Id.ToString(CultureInfo.InvariantCulture));
            while (!File.Exists(secondMarker) && killedAt.Elapsed < bound)
            {
                await Task.Delay(250);
            }
        }

        var retried = startedOnFirst && File.Exists(secondMarker) ? killedAt.Elapsed.TotalSeconds : (double?)null;
        var sinceFirstStart = firstStarted.Elapsed.TotalSeconds;
        var state = monitoring.JobDetails(id)?.History.FirstOrDefault()?.StateName ?? "?";
        if (second is not null)
        {
            second.Kill(entireProcessTree: true);
            await second.WaitForExitAsync();
        }

        // Its jobqueue row keeps its fetchedat: deleted, so no later server on the schema (or a later retry) runs it.
        client.Delete(id);
        Directory.Delete(markers, recursive: true);
        return new KillOutcome(retried, sinceFirstStart, state, bound, startedOnFirst ? null : "the job did not start on the first server within 40 s: no figure");
    }

    private static async Task<Process> StartWorkerAsync(string connectionString, string schema, TimeSpan? invisibility)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment[SchemaVariable] = schema;
        // Set or removed, so the defaults case gets defaults even if this process's own environment carries the variable.
        if (invisibility is { } timeout)
        {
            start.Environment[InvisibilityVariable] = timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            start.Environment.Remove(InvisibilityVariable);
        }

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
