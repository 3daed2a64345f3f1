using System.Diagnostics;
using System.Globalization;

namespace SyncFunctions.Benchmarks;

/// <summary>./scripts/bench.sh [all|service|peer|faults]: starts its own Azurite (and PostgreSQL for the peer), prints a table, writes JSON under artifacts/bench/.</summary>
internal static class Bench
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["hangfire-worker", var connectionString])
        {
            await Peer.WorkerMainAsync(connectionString);
            return 0;
        }

        if (args is [TextbookContender.HostArgument])
        {
            await TextbookContender.HostMainAsync();
            return 0;
        }

        // The app's console exporter would print every span of every sync: read by the app at build time, so set it for the whole process.
        Environment.SetEnvironmentVariable("SYNC_TELEMETRY_CONSOLE", "false");
        var command = args.FirstOrDefault() ?? "all";
        if (command is not ("all" or "service" or "peer" or "faults"))
        {
            Console.Error.WriteLine("usage: bench [all|service|peer|faults]");
            return 2;
        }

        var quick = Environment.GetEnvironmentVariable("BENCH_QUICK") == "1";
        // BENCH_ONLY=storage|latency|throughput|sweep|memory|race|connectors|ratelimit|kill|outage|hang|hangfire runs one part (handy when looking into one).
        var only = Environment.GetEnvironmentVariable("BENCH_ONLY");
        bool Wanted(string name) => string.IsNullOrEmpty(only) || only == name;
        var machine = new Dictionary<string, string>
        {
            ["nproc"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
            ["memory_gib"] = (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1073741824.0).ToString("F1", CultureInfo.InvariantCulture),
            ["dotnet"] = Environment.Version.ToString(),
            ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        };
        Console.WriteLine($"machine: {string.Join(", ", machine.Select(kv => $"{kv.Key}={kv.Value}"))}");
        var report = new Report();
        report.WriteAsMeasured(command, machine);
        var total = Stopwatch.StartNew();
        var faultsPass = true;

        // Sizes, scaled to a 2-core machine and printed with each figure.
        int[] costSizes = [10, 100, 1_000, 10_000];
        int[] tenantCounts = quick ? [1, 10] : [1, 10, 100, 1_000];
        int[] histories = [1_000, 10_000, 100_000];
        var window = TimeSpan.FromSeconds(quick ? 5 : 10);
        var samples = quick ? 10 : 40;

        await using (var azurite = await Azurite.StartAsync())
        {
            Measures.LatencyFigures? ours = null;
            Dictionary<int, double>? ourRate = null;
            if (command is "all" or "service")
            {
                Console.WriteLine("== storage requests per sync");
                if (Wanted("storage"))
                {
                    await Measures.StorageCostAsync(azurite, report, costSizes, TimeSpan.FromSeconds(quick ? 5 : 10));
                }
                Console.WriteLine("== latency");
                if (Wanted("latency"))
                {
                    ours = await Measures.LatencyAsync(azurite, report, samples, 100);
                }
                Console.WriteLine("== throughput");
                if (Wanted("throughput"))
                {
                    ourRate = await Measures.ThroughputAsync(azurite, report, tenantCounts, 100, window);
                }
                Console.WriteLine("== sweep");
                if (Wanted("sweep"))
                {
                    await Measures.SweepAsync(azurite, report, 1_000, histories, TimeSpan.FromSeconds(quick ? 20 : 90));
                }
                Console.WriteLine("== memory");
                if (Wanted("memory"))
                {
                    await Measures.MemoryAsync(azurite, report, 100);
                }
            }

            if (command is "all" or "peer")
            {
                Console.WriteLine("== peer: SyncFunctions and the textbook Durable Functions sync, side by side");
                await SideBySide.RunAsync(report, SideBySideSizes.For(quick), Wanted);
            }

            if ((command is "all" or "peer") && Wanted("hangfire"))
            {
                Console.WriteLine("== peer: Hangfire 1.8 on PostgreSQL");
                var hangfireTime = Stopwatch.StartNew();
                Peer.Figures? peer = null;
                try
                {
                    peer = await Peer.RunAsync(report, samples, [10, 100], 100, window);
                    Console.WriteLine($"  (Hangfire peer took {hangfireTime.Elapsed.TotalSeconds:F0} s)");
                }
                catch (Exception e)
                {
                    // Recorded as a row, so the side-by-side figures above still reach the table.
                    report.Add("peer", "Hangfire peer", double.NaN, "", "", $"failed: {e.GetType().Name}: {e.Message}");
                    Console.Error.WriteLine(e);
                }

                if (peer is not null && ours is not null && ourRate is not null)
                {
                    report.Add("ratio", "trigger -> running p50, SyncFunctions / Hangfire", Math.Round(ours.RunningP50 / peer.RunningP50, 3), "x (lower is faster)", "", $"{ours.RunningP50:F0} ms / {peer.RunningP50:F0} ms");
                    report.Add("ratio", "trigger -> running p99, SyncFunctions / Hangfire", Math.Round(ours.RunningP99 / peer.RunningP99, 3), "x (lower is faster)", "", $"{ours.RunningP99:F0} ms / {peer.RunningP99:F0} ms");
                    foreach (var (tenants, rate) in peer.JobsPerSecond)
                    {
                        if (ourRate.TryGetValue(tenants, out var mine))
                        {
                            report.Add("ratio", $"syncs/s vs jobs/s, {tenants} tenants, SyncFunctions / Hangfire", Math.Round(mine / rate, 3), "x (higher is more)", "", $"{mine:F2} / {rate:F2}");
                        }
                    }

                    report.Add("ratio", "second trigger for a busy tenant", double.NaN, "", "", $"SyncFunctions: 409 with the running sync's progress; Hangfire: {peer.SecondTrigger}");
                    report.Add("ratio", "worker killed with kill -9", double.NaN, "", "", $"SyncFunctions: see the kill -9 fault row (stale window 3 x heartbeat, then resume or fail); Hangfire: {peer.KilledWorker}");
                }
            }

            if (command is "all" or "faults")
            {
                Console.WriteLine("== faults");
                if (Wanted("race"))
                {
                    faultsPass &= await Faults.RacingTriggersAsync(azurite, report, 2, 20);
                    faultsPass &= await Faults.RacingTriggersAsync(azurite, report, 3, 20);
                }

                if (Wanted("connectors"))
                {
                    faultsPass &= await Faults.ConnectorsAsync(azurite, report);
                }

                if (Wanted("ratelimit"))
                {
                    faultsPass &= await Faults.RateLimitedAsync(azurite, report);
                }

                if (Wanted("kill"))
                {
                    faultsPass &= await Faults.KillNineAsync(azurite, report, quick ? 5 : 20);
                }

                if (Wanted("outage"))
                {
                    faultsPass &= await Faults.StorageOutageAsync(report);
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine(report.Table());
        var path = await report.WriteAsync(command, machine);
        Console.WriteLine($"{report.Rows.Count} figures in {total.Elapsed.TotalSeconds:F0} s; JSON: {Path.GetRelativePath(Repo.Root, path)}");
        if (!faultsPass)
        {
            Console.WriteLine("A fault scenario FAILED.");
            return 1;
        }

        return 0;
    }
}
