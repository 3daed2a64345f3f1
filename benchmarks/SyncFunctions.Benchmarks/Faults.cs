using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Azure.Data.Tables;
using SyncFunctions.Progress;
using SyncFunctions.Storage;

namespace SyncFunctions.Benchmarks;

/// <summary>Fault scenarios: each reports pass/fail with its figures.</summary>
internal static class Faults
{
    public static async Task<bool> RacingTriggersAsync(Azurite azurite, Report report, int instances, int tenants)
    {
        var prefix = InProcessApp.NewPrefix();
        var apps = new List<InProcessApp>();
        try
        {
            // One storage prefix, so one task hub: the instances of one deployment share the work.
            for (var i = 0; i < instances; i++)
            {
                apps.Add(await InProcessApp.StartAsync(azurite.ConnectionString, prefix));
            }

            var bad = new List<string>();
            var accepted = 0;
            var acceptedBy = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
            await Parallel.ForEachAsync(Enumerable.Range(0, tenants), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (t, _) =>
            {
                var tenant = $"race-{t}";
                var clients = new List<HttpClient>();
                foreach (var app in apps)
                {
                    clients.Add(await Api.ClientForAsync(app.BaseUri, tenant));
                }

                // About a second of work (200 items of 20 ms, 4 at once), so every trigger lands while the sync runs even on a
                // busy 2-core machine; a 202 after the first sync has ended would be a new, legitimate sync. With the Durable
                // engine a trigger lands when its orchestration asks the lock, which can be seconds after the POST (a partition
                // still moving between instances): such a later sync is told apart below by its times, not by its 202.
                await Api.PutDemoAsync(clients[0], new { items = 200, item_delay_ms = 20 });
                // Every instance gets two triggers for the tenant at the same moment.
                var results = await Task.WhenAll(clients.Concat(clients).Select(c => Api.TriggerAsync(c)));
                var ids = results.Where(r => r.Status == HttpStatusCode.Accepted).Select(r => r.SyncId!).ToList();
                Interlocked.Add(ref accepted, ids.Count);
                acceptedBy[tenant] = ids.Count;
                if (ids.Count == 0 || results.Any(r => r.Status is not (HttpStatusCode.Accepted or HttpStatusCode.Conflict)))
                {
                    lock (bad)
                    {
                        bad.Add($"{tenant}: {string.Join(',', results.Select(r => (int)r.Status))}");
                    }
                }

                foreach (var id in ids)
                {
                    await Api.WaitForAsync(clients[0], id, Api.Ended, TimeSpan.FromSeconds(60));
                }

                foreach (var c in clients)
                {
                    c.Dispose();
                }
            });
            var storage = apps[0].Get<SyncStorage>();
            var ops = new Dictionary<string, List<SyncOperationEntity>>();
            await foreach (var op in storage.Operations.QueryAsync<SyncOperationEntity>())
            {
                (ops.TryGetValue(op.TenantId, out var l) ? l : ops[op.TenantId] = []).Add(op);
            }

            var attemptCounts = new List<int>();
            var later = new List<double>();
            foreach (var (tenant, list) in ops)
            {
                // In the order they began: a sync created (triggered) first may begin after one created later has ended.
                var sorted = list.OrderBy(o => o.StartedAt).ToList();
                var overlapping = sorted.Zip(sorted.Skip(1)).Any(p => p.First.CompletedAt is null || p.Second.StartedAt < p.First.CompletedAt);
                // The connector activity runs at least once; a second run of it would show as a second attempt's documents.
                var attempts = new List<int>();
                foreach (var op in sorted)
                {
                    attempts.Add(await DocumentAttemptsAsync(storage, tenant, op.SyncId));
                }

                attemptCounts.AddRange(attempts);
                if (!overlapping)
                {
                    // A later sync, begun after the one before had ended: seconds between that end and its start.
                    later.AddRange(sorted.Zip(sorted.Skip(1)).Select(p => (p.Second.StartedAt!.Value - p.First.CompletedAt!.Value).TotalSeconds));
                }

                if (overlapping || list.Count != acceptedBy.GetValueOrDefault(tenant) || list.Any(o => o.Status != SyncStatus.Completed) || attempts.Any(a => a != 1))
                {
                    bad.Add($"{tenant}: {list.Count} operations for {acceptedBy.GetValueOrDefault(tenant)} accepted{(overlapping ? ", overlapping" : "")}: " +
                        string.Join(", ", sorted.Select((o, i) => $"{o.SyncId} {o.Status} {o.StartedAt:HH:mm:ss.fff}-{o.CompletedAt:HH:mm:ss.fff}{(o.ReplacedSyncId is null ? "" : $" replaced {o.ReplacedSyncId}")} ({attempts[i]} connector attempts wrote documents)")));
                }
            }

            var pass = bad.Count == 0 && ops.Count == tenants;
            report.Add("faults", $"{instances} instances, racing triggers: never two runs of a tenant at once, each sync run once", pass ? 1 : 0, pass ? "PASS" : "FAIL", "PASS",
                $"{tenants} tenants x {instances * 2} simultaneous triggers: {accepted} accepted, {ops.Sum(o => o.Value.Count)} operations, none overlapping, each completed; " +
                $"{later.Count} accepted later, after the tenant's sync before had ended{(later.Count > 0 ? $" (started {later.Min():F1}-{later.Max():F1} s after that end)" : "")}; " +
                $"connector attempts that wrote documents per sync: {string.Join(", ", attemptCounts.GroupBy(a => a).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}"))}{(bad.Count > 0 ? "; " + string.Join("; ", bad.Take(5)) : "")}");
            return pass;
        }
        finally
        {
            foreach (var app in apps)
            {
                await app.DisposeAsync();
            }
        }
    }

    /// <summary>Distinct connector attempts whose documents a sync's blobs hold (<c>{tenant}/{connector}/{syncId}/{attempt}-{n}.jsonl</c>).</summary>
    private static async Task<int> DocumentAttemptsAsync(SyncStorage storage, string tenant, string syncId)
    {
        var attempts = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var blob in storage.Documents.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, $"{tenant}/", CancellationToken.None))
        {
            var parts = blob.Name.Split('/');
            if (parts.Length == 4 && parts[2] == syncId)
            {
                attempts.Add($"{parts[1]}/{parts[3].Split('-')[0]}");
            }
        }

        return attempts.Count;
    }

    /// <summary>kill -9 of an instance mid-sync at random points, with two real app processes sharing one Azurite and one task hub.</summary>
    public static async Task<bool> KillNineAsync(Azurite azurite, Report report, int kills)
    {
        var prefix = InProcessApp.NewPrefix();
        var env = new Dictionary<string, string> { ["SYNC_HEARTBEAT_INTERVAL_SECONDS"] = "2", ["SYNC_CLEANUP_INTERVAL_SECONDS"] = "5" };
        var instances = new ChildApp[2];
        instances[0] = await ChildApp.StartAsync(azurite.ConnectionString, prefix, env);
        instances[1] = await ChildApp.StartAsync(azurite.ConnectionString, prefix, env);
        const int items = 400;
        var syncs = new List<(string Tenant, string SyncId, TimeSpan KillAt)>();
        var restarts = Stopwatch.StartNew();
        try
        {
            for (var k = 0; k < kills; k++)
            {
                var tenant = $"kill-{k}";
                var live = instances.First(i => !i.Exited);
                using var client = await Api.ClientForAsync(live.Http.BaseAddress!, tenant);
                // 400 items of 10 ms at 4 at once: about a second of processing, so kill points fall before, during and after it.
                await Api.PutDemoAsync(client, new { items, item_delay_ms = 10 });
                var id = await Api.TriggerOkAsync(client);
                var at = TimeSpan.FromMilliseconds(Random.Shared.Next(50, 1500));
                await Task.Delay(at);
                var victim = Random.Shared.Next(2);
                await instances[victim].KillAsync();
                await instances[victim].DisposeAsync();
                instances[victim] = await ChildApp.StartAsync(azurite.ConnectionString, prefix, env);
                syncs.Add((tenant, id, at));
            }

            var storage = new SyncStorage(new StorageSettings(azurite.ConnectionString, null, null, null, null, prefix), new Telemetry.StorageRequestCounter());
            // Stale window (3 x 2 s heartbeat) + one sweep (5 s) + a lease expiry and resume; bounded.
            var bound = TimeSpan.FromSeconds(90);
            var sw = Stopwatch.StartNew();
            var bad = new List<string>();
            var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (tenant, id, _) in syncs)
            {
                SyncOperationEntity op;
                do
                {
                    op = (await storage.Operations.GetEntityAsync<SyncOperationEntity>(tenant, SyncId.RowKey(id))).Value;
                    if (op.IsTerminal)
                    {
                        break;
                    }

                    await Task.Delay(500);
                }
                while (sw.Elapsed < bound);
                var key = op.Status == SyncStatus.Completed ? "completed" : $"{op.Status}:{op.FailureReason}";
                outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
                if (!op.IsTerminal || (op.Status == SyncStatus.Failed && string.IsNullOrEmpty(op.FailureReason)))
                {
                    bad.Add($"{tenant}: {op.Status} {op.FailureReason}");
                }
                else if (op.Status == SyncStatus.Completed && (op.FilesProcessed + op.FilesFailed != items || op.TotalFilesToProcess != items))
                {
                    bad.Add($"{tenant}: completed with processed {op.FilesProcessed} + failed {op.FilesFailed} of {op.TotalFilesToProcess} (expected {items})");
                }
            }

            var waited = sw.Elapsed;
            // The locks are Durable entities, read through a Durable client: an in-process host on the same task hub. It
            // joins the hub as a third worker, so it starts only now, once every sync has ended on the two processes.
            // A lock is released by a signal the engine applies in its own time (after a partition lease held by a killed
            // process has expired, when it was that process's): wait for it, bounded.
            var locks = 0;
            var released = Stopwatch.StartNew();
            await using (var observer = await InProcessApp.StartAsync(azurite.ConnectionString, prefix))
            {
                var durable = await observer.DurableAsync();
                do
                {
                    locks = 0;
                    foreach (var (tenant, _, _) in syncs)
                    {
                        locks += await Engine.HolderAsync(durable, tenant) is null ? 0 : 1;
                    }

                    if (locks > 0)
                    {
                        await Task.Delay(1000);
                    }
                }
                while (locks > 0 && released.Elapsed < TimeSpan.FromSeconds(90));
            }

            // Item states: a completed sync stores one state per item; a second count of the same item would show as more rows.
            var stateRows = 0;
            await foreach (var _ in storage.ItemStates.QueryAsync<TableEntity>(select: ["PartitionKey"]))
            {
                stateRows++;
            }

            var completed = outcomes.GetValueOrDefault("completed");
            var pass = bad.Count == 0 && locks == 0;
            report.Add("faults", $"kill -9 mid-sync x{kills}: every sync ends with a reason, no lock left, no item lost or counted twice", pass ? 1 : 0, pass ? "PASS" : "FAIL", "PASS",
                $"{string.Join(", ", outcomes.Select(o => $"{o.Key}={o.Value}"))}; all ended {waited.TotalSeconds:F0} s after the last kill; {locks} locks left (TenantLock entities read through the Durable client, {released.Elapsed.TotalSeconds:F0} s after that, reader's start included); {stateRows} item-state rows (the demo connector keeps none: the check is processed + failed = total on each completed sync); heartbeat 2 s, sweep 5 s{(bad.Count > 0 ? "; " + string.Join("; ", bad.Take(5)) : "")}");
            return pass;
        }
        finally
        {
            foreach (var i in instances)
            {
                await i.DisposeAsync();
            }
        }
    }

    /// <summary>Azurite stopped for 10 s mid-sync and started again on the same ports with its data.</summary>
    public static async Task<bool> StorageOutageAsync(Report report)
    {
        var location = Directory.CreateTempSubdirectory("bench-azurite-").FullName;
        try
        {
            return await StorageOutageAsync(report, location);
        }
        finally
        {
            // Azurite has stopped by now (the scenario's await using); its data directory goes with it, pass or fail.
            Directory.Delete(location, recursive: true);
        }
    }

    private static async Task<bool> StorageOutageAsync(Report report, string location)
    {
        await using var azurite = await Azurite.StartAsync(location);
        await using var app = await InProcessApp.StartAsync(azurite.ConnectionString, InProcessApp.NewPrefix(), new Dictionary<string, string?> { ["SYNC_HEARTBEAT_INTERVAL_SECONDS"] = "2", ["SYNC_CLEANUP_INTERVAL_SECONDS"] = "5" });
        using var client = await Api.ClientForAsync(app.BaseUri, "outage");
        await Api.PutDemoAsync(client, new { items = 2000, item_delay_ms = 10 });
        var id = await Api.TriggerOkAsync(client);
        Console.WriteLine($"  outage: sync {id} triggered; stopping Azurite in 1.5 s");
        await Task.Delay(1500);
        await azurite.StopAsync();
        Console.WriteLine("  outage: Azurite stopped for 10 s");
        await Task.Delay(10_000);
        await azurite.StartAgainAsync();
        Console.WriteLine("  outage: Azurite started again");
        var sw = Stopwatch.StartNew();
        System.Text.Json.JsonElement first;
        try
        {
            first = await Api.WaitForAsync(client, id, Api.Ended, TimeSpan.FromSeconds(120));
        }
        catch (HttpRequestException e)
        {
            // The app itself stopped answering: that is the finding, reported as a failure.
            report.Add("faults", "Azurite stopped 10 s mid-sync: recovers without a restart", 0, "FAIL", "PASS", $"the app stopped answering after the outage: {e.Message}");
            return false;
        }

        var firstEnd = sw.Elapsed;
        // Recovered: a new sync on the same process completes.
        await Api.PutDemoAsync(client, new { items = 100 });
        var again = await Api.TriggerOkAsync(client);
        var second = await Api.WaitForAsync(client, again, Api.Ended, TimeSpan.FromSeconds(120));
        var pass = Api.Ended(first) && Api.Status(second) == "completed";
        report.Add("faults", "Azurite stopped 10 s mid-sync: recovers without a restart", pass ? 1 : 0, pass ? "PASS" : "FAIL", "PASS",
            $"the sync in flight ended {Api.Status(first)}{(first.TryGetProperty("failure_reason", out var r) && r.ValueKind == System.Text.Json.JsonValueKind.String ? $" ({r.GetString()})" : "")} {firstEnd.TotalSeconds:F0} s after Azurite came back; a new sync then {Api.Status(second)}");
        // Azurite stops after the app (the usings' order): the Durable engine's shutdown needs its storage to let go of its leases.
        return pass;
    }

    public static async Task<bool> ConnectorsAsync(Azurite azurite, Report report)
    {
        await using var app = await InProcessApp.StartAsync(azurite.ConnectionString, InProcessApp.NewPrefix(), new Dictionary<string, string?>
        {
            // A hung connector is ended by the sync's own timeout: make it short (documented settings).
            ["SYNC_BASE_TIMEOUT_SECONDS"] = "10",
            ["SYNC_MIN_TIMEOUT_SECONDS"] = "10",
            ["SYNC_PER_FILE_TIMEOUT_SECONDS"] = "0",
        });
        var baseUri = app.BaseUri;
        var pass = true;

        using (var hang = await Api.ClientForAsync(baseUri, "hang"))
        {
            await Api.PutDemoAsync(hang, new { items = 100, hang_after = 20 });
            var sw = Stopwatch.StartNew();
            var id = await Api.TriggerOkAsync(hang);
            var end = await Api.WaitForAsync(hang, id, Api.Ended, TimeSpan.FromSeconds(60));
            var reason = end.GetProperty("failure_reason").ToString();
            var ok = Api.Status(end) == "failed" && reason == "timed_out";
            pass &= ok;
            report.Add("faults", "connector hangs (demo hang_after 20)", ok ? 1 : 0, ok ? "PASS" : "FAIL", "PASS", $"{Api.Status(end)} ({reason}) after {sw.Elapsed.TotalSeconds:F1} s with a 10 s timeout");
        }

        using (var fail = await Api.ClientForAsync(baseUri, "fail"))
        {
            await Api.PutDemoAsync(fail, new { items = 100, fail_every = 1 });
            var id = await Api.TriggerOkAsync(fail);
            var end = await Api.WaitForAsync(fail, id, Api.Ended, TimeSpan.FromSeconds(60));
            var failed = end.GetProperty("files_failed").GetInt32();
            var ok = Api.Ended(end) && failed == 100;
            pass &= ok;
            report.Add("faults", "connector throws on every item (demo fail_every 1)", ok ? 1 : 0, ok ? "PASS" : "FAIL", "PASS", $"{Api.Status(end)} ({end.GetProperty("failure_reason")}), {failed} of 100 items failed, counted");
        }

        return pass;
    }

    /// <summary>
    /// A SaaS API that answers 429 with Retry-After for its first 30 s: a minimal loopback fake of Slack's Web API
    /// (auth.test, conversations.list/history/replies) on Kestrel. The connector must wait as asked, not hammer, and finish.
    /// </summary>
    public static async Task<bool> RateLimitedAsync(Azurite azurite, Report report)
    {
        var limitedFor = TimeSpan.FromSeconds(30);
        var opened = Stopwatch.StartNew();
        long limited = 0, served = 0;
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var port = Repo.FreePort();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var fake = builder.Build();
        Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapGet(fake, "/api/{method}", (Microsoft.AspNetCore.Http.HttpContext context, string method) =>
        {
            if (opened.Elapsed < limitedFor)
            {
                Interlocked.Increment(ref limited);
                context.Response.Headers.RetryAfter = "5";
                return Microsoft.AspNetCore.Http.Results.Json(new { ok = false, error = "ratelimited" }, statusCode: 429);
            }

            Interlocked.Increment(ref served);
            return method switch
            {
                "auth.test" => Microsoft.AspNetCore.Http.Results.Json(new { ok = true, team = "Fake", user = "syncbot", team_id = "T0001", user_id = "U0BOT" }),
                "conversations.list" => Microsoft.AspNetCore.Http.Results.Json(new { ok = true, channels = new[] { new { id = "C000001", name = "general", is_member = true } }, response_metadata = new { next_cursor = "" } }),
                "conversations.history" => Microsoft.AspNetCore.Http.Results.Json(new { ok = true, has_more = false, messages = Enumerable.Range(1, 10).Select(i => new { ts = $"1700000{i:D3}.000100", user = "U0001", text = $"message {i}" }).ToArray(), response_metadata = new { next_cursor = "" } }),
                _ => Microsoft.AspNetCore.Http.Results.Json(new { ok = true, messages = Array.Empty<object>(), response_metadata = new { next_cursor = "" } }),
            };
        });
        await fake.StartAsync();
        opened.Restart();

        // The connect step (auth.test) is rate-limited too: give it more than the 30 s (a documented setting).
        await using var app = await InProcessApp.StartAsync(azurite.ConnectionString, InProcessApp.NewPrefix(), new Dictionary<string, string?> { ["SYNC_CONNECT_TIMEOUT_SECONDS"] = "90" });
        using var client = await Api.ClientForAsync(app.BaseUri, "ratelimited");
        using (var put = await System.Net.Http.Json.HttpClientJsonExtensions.PutAsJsonAsync(client, "/api/v1/connections/slack", new { settings = new { base_url = $"http://127.0.0.1:{port}/api/" }, secrets = new { bot_token = "xoxb-bench-fake-token" } }))
        {
            put.EnsureSuccessStatusCode();
        }

        var sw = Stopwatch.StartNew();
        var id = await Api.TriggerOkAsync(client);
        var end = await Api.WaitForAsync(client, id, Api.Ended, TimeSpan.FromSeconds(120), pollMs: 500);
        var processed = end.GetProperty("files_processed").GetInt32();
        var failedItems = end.GetProperty("files_failed").GetInt32();
        // One item per channel (its 10 messages are one document). Honouring Retry-After 5 means about 30 / 5 + 1 tries.
        var pass = Api.Status(end) == "completed" && processed == 1 && failedItems == 0 && limited <= 8;
        report.Add("faults", "SaaS API answers 429 (Retry-After 5) for 30 s", pass ? 1 : 0, pass ? "PASS" : "FAIL", "PASS",
            $"{Api.Status(end)} after {sw.Elapsed.TotalSeconds:F0} s, {processed} item (1 channel of 10 messages), {failedItems} failed; {limited} requests got 429 in the 30 s (Retry-After honoured: no hammering), {served} served after");
        await fake.StopAsync();
        return pass;
    }
}
