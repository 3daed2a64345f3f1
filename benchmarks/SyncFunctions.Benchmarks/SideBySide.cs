using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using SyncFunctions.Progress;

namespace SyncFunctions.Benchmarks;

/// <summary>
/// Counts and bounds of the side-by-side run, scaled so that both contenders fit in minutes on 2 cores. The kills are
/// shared out over <see cref="KillHubs"/> task hubs (deployments of their own, 3 host processes each) killed in
/// parallel: a kill of a hub's partition owner holds that hub still until the lease runs out (about 30 s), and only
/// there. Two hubs, not more: four (12 processes) starved the 2 cores, and SyncFunctions' kills of a host that did not
/// own the partition then took 15-144 s to free the tenant instead of 0-8 s. <see cref="KillBound"/> bounds each hub's
/// kills; <see cref="KillWait"/> the wait after its last kill.
/// </summary>
internal sealed record SideBySideSizes(
    int[] StorageItems, int Samples, int LoadTenants, int[] Tenants, int Items, TimeSpan Window,
    int RaceRounds, int RaceTriggers, TimeSpan RaceBound, int Kills, int KillHubs, TimeSpan KillBound, TimeSpan KillWait, TimeSpan HangBound, TimeSpan DrainBound)
{
    public static SideBySideSizes For(bool quick) => quick
        ? new([100, 1_000], 8, 20, [10], 100, TimeSpan.FromSeconds(5), 1, 20, TimeSpan.FromSeconds(30), 3, 1, TimeSpan.FromSeconds(45), TimeSpan.FromSeconds(45), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30))
        : new([100, 1_000], 15, 100, [10, 100], 100, TimeSpan.FromSeconds(10), 1, 20, TimeSpan.FromSeconds(30), 20, 2, TimeSpan.FromSeconds(200), TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
}

/// <summary>
/// SyncFunctions and the textbook Durable Functions sync (benchmarks/SyncFunctions.TextbookPeer), measured by the same
/// code in the same run, on the same local host, Durable extension, host.json and Azurite; each scenario runs one
/// contender right after the other, and the figures end as ratios textbook / SyncFunctions.
/// </summary>
internal static class SideBySide
{
    private const string Section = "vs textbook";

    /// <summary>The app's documented settings for the process scenarios, as the fault scenarios use them; the textbook has none to set.</summary>
    private static readonly Dictionary<string, string> FaultSettings = new() { ["SYNC_HEARTBEAT_INTERVAL_SECONDS"] = "2", ["SYNC_CLEANUP_INTERVAL_SECONDS"] = "5" };

    public static async Task RunAsync(Report report, SideBySideSizes sizes, Func<string, bool> wanted)
    {
        Contender ours = new SyncFunctionsContender(), textbook = new TextbookContender();
        Contender[] both = [ours, textbook];
        var figures = both.ToDictionary(c => c, _ => new Dictionary<string, double>(StringComparer.Ordinal));
        var notes = both.ToDictionary(c => c, _ => new Dictionary<string, string>(StringComparer.Ordinal));
        foreach (var c in both)
        {
            if (wanted("storage"))
            {
                foreach (var (items, requests) in await GuardedAsync(report, c, "storage requests per sync", fresh => StorageAsync(fresh, report, c, sizes.StorageItems), []))
                {
                    figures[c][$"storage requests per sync, {items:N0} items (idle polls excluded)"] = requests;
                }
            }
        }

        foreach (var c in both)
        {
            if (wanted("latency"))
            {
                foreach (var (name, ms) in await GuardedAsync(report, c, "trigger -> running", fresh => LatencyAsync(fresh, report, c, sizes.Samples, sizes.LoadTenants), []))
                {
                    figures[c][name] = ms;
                }
            }
        }

        foreach (var tenants in sizes.Tenants)
        {
            foreach (var c in both)
            {
                if (wanted("throughput"))
                {
                    var rate = await GuardedAsync(report, c, $"syncs/s, {tenants} tenants", fresh => ThroughputAsync(fresh, report, c, tenants, sizes.Items, sizes.Window, sizes.DrainBound), double.NaN);
                    if (!double.IsNaN(rate))
                    {
                        figures[c][$"syncs/s, {tenants} tenants ({sizes.Items} items each)"] = rate;
                    }
                }
            }
        }

        foreach (var c in both)
        {
            if (wanted("race") || wanted("kill"))
            {
                foreach (var (k, v) in await GuardedAsync(report, c, "racing triggers and kill -9 (2 host processes)", fresh => ProcessesAsync(fresh, report, c, sizes, wanted), []))
                {
                    notes[c][k] = v;
                }
            }

            if (wanted("hang"))
            {
                notes[c]["connector hangs"] = await GuardedAsync(report, c, "connector hangs", fresh => HangAsync(fresh, report, c, sizes.HangBound), "failed (see its row)");
            }
        }

        foreach (var (metric, mine) in figures[ours])
        {
            if (figures[textbook].TryGetValue(metric, out var theirs))
            {
                var reading = metric.StartsWith("storage", StringComparison.Ordinal) ? "x (above 1: textbook costs more)"
                    : metric.StartsWith("trigger", StringComparison.Ordinal) ? "x (above 1: textbook slower)"
                    : "x (below 1: textbook completes fewer)";
                report.Add("ratio", $"{metric}, textbook / SyncFunctions", Math.Round(theirs / mine, 2), reading, "",
                    $"{Report.Format(theirs)} / {Report.Format(mine)}");
            }
        }

        foreach (var (scenario, mine) in notes[ours])
        {
            report.Add("ratio", scenario, double.NaN, "", "", $"SyncFunctions: {mine}; textbook: {notes[textbook].GetValueOrDefault(scenario, "not run")}");
        }
    }

    /// <summary>
    /// One scenario of one contender on an Azurite of its own: in memory, Azurite slows with every row and message a
    /// scenario leaves (the textbook's load leaves tens of thousands), which would bill one contender for the other.
    /// If it throws, the failure becomes a row ("failed: reason") and the run goes on, so one broken scenario never
    /// loses the others' figures.
    /// </summary>
    private static async Task<T> GuardedAsync<T>(Report report, Contender c, string scenario, Func<Azurite, Task<T>> run, T failed)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            await using var fresh = await Azurite.StartAsync();
            var result = await run(fresh);
            Console.WriteLine($"  ({c.Name}: {scenario} took {sw.Elapsed.TotalSeconds:F0} s)");
            return result;
        }
        catch (Exception e)
        {
            report.Add(Section, $"{c.Name}: {scenario}", double.NaN, "", "", $"failed: {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine(e);
            return failed;
        }
    }

    /// <summary>All storage requests of one sync of each size, through the counting proxy, as the service mode counts them.</summary>
    private static async Task<List<(int Items, double Requests)>> StorageAsync(Azurite azurite, Report report, Contender c, int[] sizes)
    {
        await using var proxy = await CountingStorageProxy.StartAsync(azurite);
        var prefix = InProcessApp.NewPrefix();
        await using var app = await InProcessApp.StartAsync(proxy.ConnectionString, prefix, c.Settings, c.FunctionApp);
        var hub = new HubInstances(azurite.ConnectionString, InProcessApp.TaskHub(prefix));
        var tables = new SharedTables(azurite.ConnectionString, prefix);

        // A first sync creates the tables, containers and entities a deployment creates once: not a per-sync cost.
        await CountAsync("cost-warm", 10);
        var idle = await Measures.IdleRatesAsync(proxy, TimeSpan.FromSeconds(5));
        var result = new List<(int, double)>();
        foreach (var items in sizes)
        {
            var w = await CountAsync($"cost-{items}", items);
            var all = Math.Round(idle.SyncRequests(w.All));
            result.Add((items, all));
            report.Add(Section, $"{c.Name}: storage requests per sync, {items:N0} items", all, "requests", "",
                $"all requests through the proxy, idle polls and background excluded; {w.End} in {w.Seconds:F1} s; Durable backend {w.All.CountOwned(RequestClass.Sync, app: false)}, app {w.All.CountOwned(RequestClass.Sync, app: true)}; {w.All.ServiceSummary(RequestClass.Sync)}" +
                (w.Settled ? "" : " (not quiet after 30 s)"),
                Measures.Kinds(w.All, RequestClass.Sync, RequestClass.IdlePoll, RequestClass.Background));
        }

        return result;

        async Task<Measures.CountedSync> CountAsync(string tenant, int items)
        {
            await tables.PutDemoAsync(tenant, new { items });
            using var client = await c.ClientForAsync(app.BaseUri, tenant);
            return await Measures.CountOneSyncAsync(app, proxy, hub, () => c.TriggerOkAsync(client, tenant), id => c.InstanceOf(tenant, id));
        }
    }

    /// <summary>Trigger → the client's status read says running: idle, then with <paramref name="loadTenants"/> other tenants syncing.</summary>
    private static async Task<List<(string Metric, double Ms)>> LatencyAsync(Azurite azurite, Report report, Contender c, int samples, int loadTenants)
    {
        var prefix = InProcessApp.NewPrefix();
        await using var app = await InProcessApp.StartAsync(azurite.ConnectionString, prefix, Measures.Busy.Concat(c.Settings).ToDictionary(), c.FunctionApp);
        var tables = new SharedTables(azurite.ConnectionString, prefix);
        await SampleAsync(app, c, tables, "warm", 1, waitForEnd: true); // the first trigger of a fresh process pays its JIT
        var idle = await SampleAsync(app, c, tables, "idle", samples, waitForEnd: true);

        // The load: each of loadTenants runs 200 items of 1 s. SyncFunctions works 4 at once per sync; the textbook fans
        // all out, so its 20,000 activities queue up. Both stay busy through the sampling. The load is not stopped: the
        // host and its Azurite are thrown away with it (terminating 100 textbook instances under that load took minutes).
        var unanswered = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, loadTenants), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var tenant = $"load-{i}";
            await tables.PutDemoAsync(tenant, new { items = 200, item_delay_ms = 1000 });
            using var client = await c.ClientForAsync(app.BaseUri, tenant);
            try
            {
                await c.TriggerOkAsync(client, tenant, CancellationToken.None);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Its sync may still have been started; either way the load is what the engine took on.
                Interlocked.Increment(ref unanswered);
            }
        });
        await Task.Delay(2000);
        var busy = await SampleAsync(app, c, tables, "busy", samples, waitForEnd: false);
        var errors = app.Ends.Errors;

        var result = new List<(string, double)>();
        foreach (var (label, s) in new[] { ("idle", idle), ($"{loadTenants} tenants syncing", busy) })
        {
            report.Add(Section, $"{c.Name}: trigger -> running, {label}", Math.Round(Stats.Percentile(s.Ms, 50)), "ms p50", "",
                $"p95 {Stats.Percentile(s.Ms, 95):F0}, p99 {Stats.Percentile(s.Ms, 99):F0}, n={s.Ms.Count}{s.Missing()}; the first sync of a tenant each; 'running' as the client reads it (SyncFunctions: GET /api/v1/sync/{{id}}; textbook: the custom status of its status query), polled every 5 ms" +
                (s == busy && unanswered > 0 ? $"; {unanswered} of the {loadTenants} load triggers got no HTTP answer" : "") +
                (s == busy && errors > 0 ? $"; error lines the host logged by the end of sampling: {errors}" : ""));
            result.Add(($"trigger -> running p50, {label}", Stats.Percentile(s.Ms, 50)));
            result.Add(($"trigger -> running p99, {label}", Stats.Percentile(s.Ms, 99)));
        }

        return result;
    }

    /// <summary>Trigger → running times, and the samples that gave none: not running within 30 s, no HTTP answer, (idle) not ended within 60 s.</summary>
    private sealed record Samples(List<double> Ms, int NotRunning, int NoAnswer, int NotEnded)
    {
        public string Missing() =>
            (NotRunning > 0 ? $", {NotRunning} not running 30 s after the trigger" : "") +
            (NoAnswer > 0 ? $", {NoAnswer} with no HTTP answer within the client's timeout" : "") +
            (NotEnded > 0 ? $", {NotEnded} not ended 60 s after the trigger" : "");
    }

    private static async Task<Samples> SampleAsync(InProcessApp app, Contender c, SharedTables tables, string kind, int samples, bool waitForEnd)
    {
        var ms = new List<double>();
        int notRunning = 0, noAnswer = 0, notEnded = 0;
        var deadline = Stopwatch.StartNew();
        for (var i = 0; i < samples && deadline.Elapsed < TimeSpan.FromSeconds(90); i++)
        {
            var tenant = $"lat-{kind}-{i}";
            await tables.PutDemoAsync(tenant, new { items = 20 });
            using var client = await c.ClientForAsync(app.BaseUri, tenant);
            var sw = Stopwatch.StartNew();
            string id;
            var running = false;
            try
            {
                id = await c.TriggerOkAsync(client, tenant);
                while (!(running = await c.IsRunningAsync(client, tenant, id)) && sw.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(5);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // A host too loaded to answer within the client's timeout is a sample of its own kind, not a failed scenario.
                noAnswer++;
                continue;
            }

            if (running)
            {
                ms.Add(sw.Elapsed.TotalMilliseconds);
            }
            else
            {
                notRunning++;
            }

            if (waitForEnd && !await EndsWithinAsync(app, id, TimeSpan.FromSeconds(60)))
            {
                notEnded++;
            }
        }

        return new Samples(ms, notRunning, noAnswer, notEnded);
    }

    private static async Task<bool> EndsWithinAsync(InProcessApp app, string syncId, TimeSpan bound)
    {
        try
        {
            await app.Ends.EndOf(syncId).WaitAsync(bound);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Syncs per second while each tenant triggers its next sync as soon as its last one ended; over the window and its drain.</summary>
    private static async Task<double> ThroughputAsync(Azurite azurite, Report report, Contender c, int tenants, int items, TimeSpan window, TimeSpan drainBound)
    {
        var prefix = InProcessApp.NewPrefix();
        await using var app = await InProcessApp.StartAsync(azurite.ConnectionString, prefix, Measures.Busy.Concat(c.Settings).ToDictionary(), c.FunctionApp);
        var tables = new SharedTables(azurite.ConnectionString, prefix);
        var clients = new System.Collections.Concurrent.ConcurrentBag<(string Tenant, HttpClient Client)>();
        await Parallel.ForEachAsync(Enumerable.Range(0, tenants), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var tenant = $"tp-{i}";
            await tables.PutDemoAsync(tenant, new { items });
            clients.Add((tenant, await c.ClientForAsync(app.BaseUri, tenant)));
        });
        long inWindow = 0, completed = 0, accepted = 0;
        var sw = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(window);
        await Task.WhenAll(clients.Select(async t =>
        {
            while (!stop.IsCancellationRequested)
            {
                string id;
                try
                {
                    id = await c.TriggerOkAsync(t.Client, t.Tenant, stop.Token);
                    Interlocked.Increment(ref accepted);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                try
                {
                    await app.Ends.EndOf(id).WaitAsync(window + drainBound - sw.Elapsed);
                }
                catch (Exception e) when (e is TimeoutException or ArgumentOutOfRangeException)
                {
                    // Counted as accepted and not completed.
                    break;
                }

                Interlocked.Increment(ref completed);
                if (!stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref inWindow);
                }
            }
        }));
        var seconds = sw.Elapsed.TotalSeconds;
        var rate = completed / seconds;
        report.Add(Section, $"{c.Name}: syncs/s, {tenants} tenants ({items} items each)", Math.Round(rate, 2), "syncs/s", "",
            $"window {window.TotalSeconds:F0} s + drain: {completed} completed in {seconds:F1} s ({inWindow} inside the window); {accepted - completed} of {accepted} accepted syncs not ended within the {drainBound.TotalSeconds:F0} s drain bound (a trigger is retried on 409/503 until the window closes)");
        foreach (var (_, client) in clients)
        {
            client.Dispose();
        }

        return rate;
    }

    /// <summary>The scenarios that need real host processes: two local hosts on one task hub for racing triggers; for kill -9 a third, and more hubs (<see cref="KillsAsync"/>).</summary>
    private static async Task<List<(string Scenario, string Outcome)>> ProcessesAsync(Azurite azurite, Report report, Contender c, SideBySideSizes sizes, Func<string, bool> wanted)
    {
        var prefix = InProcessApp.NewPrefix();
        var tables = new SharedTables(azurite.ConnectionString, prefix);
        var hosts = new ChildHosts(c, azurite.ConnectionString, prefix, FaultSettings);
        await using (hosts)
        {
            // Two processes for the racing triggers; a third joins for kill -9 (KillsAsync), so a kill never waits for the last one's restart.
            await Task.WhenAll(hosts.AddAsync(), hosts.AddAsync());
            var result = new List<(string, string)>();
            if (wanted("race"))
            {
                result.Add(($"{sizes.RaceTriggers} racing triggers for one tenant over 2 host processes", await RaceAsync(azurite, report, c, hosts, tables, prefix, sizes)));
            }

            if (wanted("kill"))
            {
                var hub = new HubInstances(azurite.ConnectionString, InProcessApp.TaskHub(prefix));
                result.Add(($"kill -9 of a host while the lock is held, x{sizes.Kills}", await KillsAsync(azurite, report, c, (hosts, tables, hub), sizes)));
            }

            return result;
        }
    }

    /// <summary>
    /// The kills, shared out over the first hub (whose hosts the race used) and <see cref="SideBySideSizes.KillHubs"/> - 1
    /// more, each with 3 host processes, all killed in parallel; reported together.
    /// </summary>
    private static async Task<string> KillsAsync(Azurite azurite, Report report, Contender c, (ChildHosts Hosts, SharedTables Tables, HubInstances Hub) first, SideBySideSizes sizes)
    {
        var hubs = new List<(ChildHosts Hosts, SharedTables Tables, HubInstances Hub)> { (first.Hosts, first.Tables, first.Hub) };
        try
        {
            for (var h = 1; h < sizes.KillHubs; h++)
            {
                var prefix = InProcessApp.NewPrefix();
                hubs.Add((new ChildHosts(c, azurite.ConnectionString, prefix, FaultSettings), new SharedTables(azurite.ConnectionString, prefix), new HubInstances(azurite.ConnectionString, InProcessApp.TaskHub(prefix))));
            }

            // Started together: a start is mostly a wait for the process to listen.
            await Task.WhenAll(hubs.Skip(1).SelectMany(hub => Enumerable.Range(0, 3).Select(_ => hub.Hosts.AddAsync())).Append(first.Hosts.AddAsync()));

            var series = await Task.WhenAll(hubs.Select((hub, h) =>
                KillSeriesAsync(c, hub.Hosts, hub.Tables, hub.Hub, $"kill-{h}", sizes.Kills / hubs.Count + (h < sizes.Kills % hubs.Count ? 1 : 0), sizes)));
            return ReportKills(report, c, series, sizes);
        }
        finally
        {
            foreach (var (hosts, _, _) in hubs.Skip(1))
            {
                await hosts.DisposeAsync();
            }
        }
    }

    /// <summary>One kill: whether it hit the hub's partition owner, and the tenant's seconds until free and until its killed sync ended (null: not by the bound).</summary>
    private sealed record KillResult(bool Owner, double? Locked, double? Running);

    /// <summary>One hub's kills: what each killed tenant showed, the tenants skipped and why, and how long the kills took.</summary>
    private sealed record KillSeries(List<KillResult> Results, List<string> Skipped, double LoopSeconds);

    private static async Task<string> RaceAsync(Azurite azurite, Report report, Contender c, ChildHosts hosts, SharedTables tables, string prefix, SideBySideSizes sizes)
    {
        var hub = new HubInstances(azurite.ConnectionString, InProcessApp.TaskHub(prefix));
        var rounds = new List<string>();
        int accepted = 0, ran = 0, worstAtOnce = 0;
        for (var r = 0; r < sizes.RaceRounds; r++)
        {
            var tenant = $"race-{r}";
            // About a second of work for SyncFunctions (200 items of 20 ms, 4 at once), so every trigger lands while it runs.
            await tables.PutDemoAsync(tenant, new { items = 200, item_delay_ms = 20 });
            var clients = new List<HttpClient>();
            foreach (var host in hosts.Live)
            {
                clients.Add(await c.ClientForAsync(host.Http.BaseAddress!, tenant));
            }

            var answers = await Task.WhenAll(Enumerable.Range(0, sizes.RaceTriggers).Select(i => AnswerOrNoneAsync(c, clients[i % clients.Count], tenant)));
            var settled = await hub.WaitUntilNoSyncInFlightAsync(sizes.RaceBound);
            var rows = await tables.OperationsAsync(tenant);
            var started = rows.Where(o => o.StartedAt is not null).ToList();
            var atOnce = MostAtOnce(started);
            accepted += answers.Count(a => a.Status == HttpStatusCode.Accepted);
            ran += started.Count;
            worstAtOnce = Math.Max(worstAtOnce, atOnce);
            rounds.Add($"{string.Join(" ", answers.GroupBy(a => (int)a.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}x{g.Count()}"))} -> {started.Count} ran, {atOnce} at once{(settled ? "" : $", still running after {sizes.RaceBound.TotalSeconds:F0} s")}");
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        var outcome = $"{ran} syncs ran for {sizes.RaceRounds} tenants, at most {worstAtOnce} at once ({accepted} triggers accepted)";
        report.Add(Section, $"{c.Name}: {sizes.RaceTriggers} racing triggers for one tenant, 2 host processes, x{sizes.RaceRounds} tenants", ran, "syncs ran", "never 2 at once",
            $"at most {worstAtOnce} at once; per tenant: {string.Join("; ", rounds)} (answers by status code; 'ran' = operation rows a run began, after taking the lock)");
        return outcome;
    }

    /// <summary>A trigger's answer, or status 0 when none came (a saturated host can outlast the client's timeout): counted, not fatal.</summary>
    private static async Task<TriggerAnswer> AnswerOrNoneAsync(Contender c, HttpClient client, string tenant)
    {
        try
        {
            return await c.TriggerAsync(client, tenant);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return new TriggerAnswer(0, null);
        }
    }

    /// <summary>Most runs of a tenant at once, from the operation rows' begin and end times (a run not ended counts as still going).</summary>
    private static int MostAtOnce(IEnumerable<SyncFunctions.Progress.SyncOperationEntity> runs)
    {
        var edges = runs.SelectMany(o => new[] { (At: o.StartedAt!.Value, Step: 1), (At: o.CompletedAt ?? DateTimeOffset.MaxValue, Step: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Step);
        int now = 0, most = 0;
        foreach (var (_, step) in edges)
        {
            now += step;
            most = Math.Max(most, now);
        }

        return most;
    }

    /// <summary>
    /// kill -9 of one of a hub's three hosts at a random point while a sync holds its tenant's lock (the client reads it
    /// running and its operation row has not ended), each kill on its own tenant, one after another within
    /// <see cref="SideBySideSizes.KillBound"/>: the killed host is started again in the background while the next
    /// tenant's sync starts on another. Each tenant is watched from its own kill (a new trigger's sync runs = free
    /// without a person; its killed sync's row ends), all until one deadline, <see cref="SideBySideSizes.KillWait"/>
    /// after the last kill.
    /// </summary>
    private static async Task<KillSeries> KillSeriesAsync(Contender c, ChildHosts hosts, SharedTables tables, HubInstances hub, string tenantPrefix, int kills, SideBySideSizes sizes)
    {
        var watches = new List<Task<KillResult>>();
        var skipped = new List<string>();
        using var watchEnd = new CancellationTokenSource();
        var loop = Stopwatch.StartNew();
        // The kills' own budget: a sync that does not reach "running" soon (a partition still leased by a killed host) is skipped, not waited for.
        var stepBound = TimeSpan.FromSeconds(20);
        for (var k = 0; watches.Count < kills && loop.Elapsed < sizes.KillBound; k++)
        {
            var tenant = $"{tenantPrefix}-{k}";
            // 20 items of 1 s: about 5 s of SyncFunctions' work (4 at once) and 1-3 s of the textbook's fan-out, so the
            // random kill point lands while the lock is held; few items, so the textbook's replays of its restarted
            // activities leave the 2 cores to the other hubs' kills (with 100 items of 100 ms, 9 of 26 textbook syncs
            // did not reach "running" within 20 s).
            await tables.PutDemoAsync(tenant, new { items = 20, item_delay_ms = 1000 });
            using var client = await c.ClientForAsync(hosts.AnyLive().Http.BaseAddress!, tenant);
            using var giveUp = new CancellationTokenSource(stepBound);
            string id;
            try
            {
                id = await c.TriggerOkAsync(client, tenant, giveUp.Token);
            }
            catch (OperationCanceledException)
            {
                skipped.Add($"{tenant}: trigger not accepted within {stepBound.TotalSeconds:F0} s");
                continue;
            }

            var sw = Stopwatch.StartNew();
            var running = false;
            while (!(running = await RunningOrNotYetAsync(c, client, tenant, id)) && sw.Elapsed < stepBound)
            {
                await Task.Delay(20);
            }

            if (!running)
            {
                skipped.Add($"{tenant}: not running within {stepBound.TotalSeconds:F0} s");
                continue;
            }

            await Task.Delay(Random.Shared.Next(0, 1000));
            // Killed only while its lock is held: a sync that already ended would make a free tenant look like a fast recovery.
            if (await tables.OperationAsync(tenant, id) is { IsTerminal: true })
            {
                skipped.Add($"{tenant}: ended before its kill point");
                continue;
            }

            var owner = await hub.PartitionOwnerAsync();
            var victim = await hosts.KillOneAsync();
            var killedAt = Stopwatch.StartNew();
            // The local host names its worker "{machine}-{pid}-{random}" (DurableExtensionSetup).
            var ownerKilled = owner?.Contains($"-{victim}-", StringComparison.Ordinal) == true;
            watches.Add(WatchAsync(c, hosts, tables, tenant, id, ownerKilled, killedAt, watchEnd.Token));
        }

        var loopSeconds = loop.Elapsed.TotalSeconds;
        watchEnd.CancelAfter(sizes.KillWait);
        var results = await Task.WhenAll(watches);
        await hosts.WaitForRestartsAsync();
        return new KillSeries([.. results], skipped, loopSeconds);
    }

    private static string ReportKills(Report report, Contender c, KillSeries[] series, SideBySideSizes sizes)
    {
        var results = series.SelectMany(s => s.Results).ToList();
        var skipped = series.SelectMany(s => s.Skipped).ToList();
        var ownerKills = results.Where(r => r.Owner).ToList();
        var otherKills = results.Where(r => !r.Owner).ToList();
        var freed = results.Where(r => r.Locked is not null).Select(r => r.Locked!.Value).ToList();
        var ended = results.Where(r => r.Running is not null).Select(r => r.Running!.Value).ToList();
        var stillLocked = results.Count - freed.Count;
        var stillRunning = results.Count - ended.Count;
        var wait = sizes.KillWait.TotalSeconds;
        var kills = $"{results.Count} kills on {series.Length} task hub(s) of 3 host processes killed in parallel ({string.Join(", ", series.Select(s => $"{s.Results.Count} in {s.LoopSeconds:F0} s"))}), " +
            $"then a wait bounded at {wait:F0} s after each hub's last kill" +
            (skipped.Count > 0 ? $" ({skipped.Count} tenants skipped, not killed: {string.Join("; ", skipped)})" : "");
        report.Add(Section, $"{c.Name}: kill -9 while the lock is held, tenant locked for", freed.Count == 0 ? double.NaN : Math.Round(Stats.Percentile(freed, 50), 1), "s p50 after its kill", "",
            $"{kills}: freed without a person {freed.Count} of {results.Count}, max {(freed.Count == 0 ? "-" : freed.Max().ToString("F0", CultureInfo.InvariantCulture))} s; still locked at the end {stillLocked}; each, in s: {Each(freed)}; " +
            $"kills of the hub's partition owner {ownerKills.Count}: freed {Freed(ownerKills)}; of another host {otherKills.Count}: freed {Freed(otherKills)} ('free' = a new trigger's sync reads running; probed every second)");
        report.Add(Section, $"{c.Name}: kill -9 while the lock is held, sync stayed 'running' for", ended.Count == 0 ? double.NaN : Math.Round(Stats.Percentile(ended, 50), 1), "s p50 after its kill", "",
            $"ended (completed or failed) {ended.Count} of {results.Count}, max {(ended.Count == 0 ? "-" : ended.Max().ToString("F0", CultureInfo.InvariantCulture))} s; still 'running' at the end {stillRunning}; each, in s: {Each(ended)} (its operation row, read every 500 ms){(c is SyncFunctionsContender ? "; heartbeat 2 s and sweep 5 s (its documented settings)" : "; it has neither")}");
        return $"{results.Count} kills: {freed.Count} tenants freed without a person{Median(freed)}, {stillLocked} still locked {wait:F0} s after the last kill; " +
            $"{ended.Count} killed syncs ended{Median(ended)}, {stillRunning} still 'running'";

        static string Median(List<double> seconds) => seconds.Count == 0 ? "" : $" (p50 {Stats.Percentile(seconds, 50):F1} s)";

        static string Freed(List<KillResult> kills) => kills.Count == 0 ? "-" : $"{kills.Count(k => k.Locked is not null)} ({Each([.. kills.Where(k => k.Locked is not null).Select(k => k.Locked!.Value)])} s)";

        static string Each(List<double> seconds) => seconds.Count == 0 ? "-" : string.Join(" ", seconds.Order().Select(v => v.ToString("F0", CultureInfo.InvariantCulture)));
    }

    /// <summary>A status read that failed (a host busy restarting after the last kill) reads as not running yet.</summary>
    private static async Task<bool> RunningOrNotYetAsync(Contender c, HttpClient client, string tenant, string syncId)
    {
        try
        {
            return await c.IsRunningAsync(client, tenant, syncId);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static async Task<KillResult> WatchAsync(Contender c, ChildHosts hosts, SharedTables tables, string tenant, string syncId, bool ownerKilled, Stopwatch since, CancellationToken end)
    {
        var running = Task.Run(async () =>
        {
            while (!end.IsCancellationRequested)
            {
                if (await tables.OperationAsync(tenant, syncId) is { IsTerminal: true })
                {
                    return since.Elapsed.TotalSeconds;
                }

                await Task.Delay(500, CancellationToken.None);
            }

            return (double?)null;
        }, CancellationToken.None);
        var locked = FreeAgainAsync(c, () => hosts.AnyLive().Http.BaseAddress!, tenant, since, end);
        return new KillResult(ownerKilled, await locked, await running);
    }

    /// <summary>Seconds from <paramref name="since"/> until a new trigger for the tenant is accepted and its sync reads running; null at the bound.</summary>
    private static async Task<double?> FreeAgainAsync(Contender c, Func<Uri> host, string tenant, Stopwatch since, CancellationToken end)
    {
        while (!end.IsCancellationRequested)
        {
            try
            {
                using var client = await c.ClientForAsync(host(), tenant);
                var answer = await c.TriggerAsync(client, tenant);
                if (answer.SyncId is { } probe)
                {
                    while (!end.IsCancellationRequested)
                    {
                        if (await RunningOrNotYetAsync(c, client, tenant, probe))
                        {
                            return since.Elapsed.TotalSeconds;
                        }

                        await Task.Delay(250, CancellationToken.None);
                    }

                    return null;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                // The host asked was just killed or is starting again (or none is up for a moment): ask again.
            }

            await Task.Delay(1000, CancellationToken.None);
        }

        return null;
    }

    /// <summary>The connector hangs on its first item: how long until the sync is reported failed and the tenant free, bounded.</summary>
    private static async Task<string> HangAsync(Azurite azurite, Report report, Contender c, TimeSpan bound)
    {
        var prefix = InProcessApp.NewPrefix();
        // SyncFunctions' sync timeout made short with its documented settings, as the fault scenario does; the textbook has none.
        var settings = c.Settings.Concat(new Dictionary<string, string?>
        {
            ["SYNC_BASE_TIMEOUT_SECONDS"] = "10",
            ["SYNC_MIN_TIMEOUT_SECONDS"] = "10",
            ["SYNC_PER_FILE_TIMEOUT_SECONDS"] = "0",
        }).ToDictionary();
        await using var app = await InProcessApp.StartAsync(azurite.ConnectionString, prefix, settings, c.FunctionApp);
        var tables = new SharedTables(azurite.ConnectionString, prefix);
        const string Tenant = "hang";
        // hang_after counts within a connector session; the textbook opens one per item, so only 0 hangs both.
        await tables.PutDemoAsync(Tenant, new { items = 100, hang_after = 0 });
        using var client = await c.ClientForAsync(app.BaseUri, Tenant);
        var since = Stopwatch.StartNew();
        var id = await c.TriggerOkAsync(client, Tenant);
        double? failed = null;
        var status = "";
        while (since.Elapsed < bound)
        {
            var op = await tables.OperationAsync(Tenant, id);
            status = op?.Status ?? "no row";
            if (op is { IsTerminal: true })
            {
                failed = since.Elapsed.TotalSeconds;
                status = $"{op.Status} ({op.FailureReason})";
                break;
            }

            await Task.Delay(250);
        }

        using var hangEnd = new CancellationTokenSource(bound - since.Elapsed > TimeSpan.Zero ? bound - since.Elapsed : TimeSpan.Zero);
        var free = await FreeAgainAsync(c, () => app.BaseUri, Tenant, since, hangEnd.Token);
        var outcome = $"{(failed is { } f ? $"reported {status} after {f:F1} s" : $"never reported failed: still '{status}' at the {bound.TotalSeconds:F0} s bound")}; " +
            $"{(free is { } s ? $"tenant free again after {s:F1} s" : $"tenant still locked at the {bound.TotalSeconds:F0} s bound")}";
        report.Add(Section, $"{c.Name}: connector hangs, sync reported failed after", failed ?? double.NaN, "s", "", outcome + (c is SyncFunctionsContender ? "; sync timeout 10 s (SYNC_BASE/MIN_TIMEOUT_SECONDS)" : "; no timeout of its own (in Azure the host's functionTimeout would end the activity, 2 h 10 min in host.json)"));
        return outcome;
    }
}

/// <summary>
/// Local-host processes of one contender on one task hub. One at a time can be killed with kill -9 and is started again
/// in the background, so the next kill need not wait for it while another host is up.
/// </summary>
internal sealed class ChildHosts(Contender contender, string connectionString, string prefix, IReadOnlyDictionary<string, string> env) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<ChildApp?> _hosts = [];
    private readonly Dictionary<int, Task> _restarts = [];

    public IReadOnlyList<ChildApp> Live
    {
        get
        {
            lock (_gate)
            {
                return [.. _hosts.Where(h => h is { Exited: false }).Select(h => h!)];
            }
        }
    }

    public ChildApp AnyLive() => Live is [var first, ..] ? first : throw new InvalidOperationException("no host process is running");

    /// <summary>Starts one more host process on the task hub.</summary>
    public async Task AddAsync()
    {
        var host = await StartOneAsync();
        lock (_gate)
        {
            _hosts.Add(host);
        }
    }

    /// <summary>kill -9 of a random host, keeping another one up (waiting for a restart when needed); it starts again in the background. Returns the killed process id.</summary>
    public async Task<int> KillOneAsync()
    {
        while (Live.Count < 2)
        {
            Task[] pending;
            lock (_gate)
            {
                pending = [.. _restarts.Values];
            }

            if (pending.Length == 0)
            {
                throw new InvalidOperationException("fewer than two host processes are up and none is starting");
            }

            await Task.WhenAny(pending);
        }

        ChildApp victim;
        int index;
        lock (_gate)
        {
            var live = Enumerable.Range(0, _hosts.Count).Where(i => _hosts[i] is { Exited: false }).ToList();
            index = live[Random.Shared.Next(live.Count)];
            victim = _hosts[index]!;
            _hosts[index] = null;
        }

        var pid = victim.Pid;
        await victim.DisposeAsync();
        lock (_gate)
        {
            _restarts[index] = RestartAsync(index);
        }

        return pid;
    }

    /// <summary>Waits for the background restarts; a restart that failed twice throws here.</summary>
    public async Task WaitForRestartsAsync()
    {
        Task[] pending;
        lock (_gate)
        {
            pending = [.. _restarts.Values];
        }

        await Task.WhenAll(pending);
    }

    private async Task RestartAsync(int index)
    {
        // Returns to the caller first, so it is registered before it can end.
        await Task.Yield();
        try
        {
            var host = await StartOneAsync();
            lock (_gate)
            {
                _hosts[index] = host;
            }
        }
        finally
        {
            lock (_gate)
            {
                _restarts.Remove(index);
            }
        }
    }

    /// <summary>Started again once if it does not listen in time (a loaded machine): only a second failure fails the scenario.</summary>
    private async Task<ChildApp> StartOneAsync()
    {
        var settings = contender is SyncFunctionsContender ? env : new Dictionary<string, string>();
        try
        {
            return await ChildApp.StartAsync(connectionString, prefix, settings, program: contender.ChildProgram);
        }
        catch (Exception e) when (e is SocketException or InvalidOperationException)
        {
            Console.Error.WriteLine($"  {contender.Name}: a host process did not start ({e.Message}); starting it once more");
            return await ChildApp.StartAsync(connectionString, prefix, settings, program: contender.ChildProgram);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await WaitForRestartsAsync();
        }
        catch (Exception e) when (e is SocketException or InvalidOperationException)
        {
            Console.Error.WriteLine($"  {contender.Name}: a host restart failed twice ({e.Message})");
        }

        foreach (var host in _hosts)
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }
        }
    }
}
