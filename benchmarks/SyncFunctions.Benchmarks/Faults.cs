using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Azure.Data.Tables;
using SyncFunctions.Locking;
using SyncFunctions.Progress;
using SyncFunctions.Storage;

namespace SyncFunctions.Benchmarks;

/// <summary>Fault scenarios: each reports pass/fail with its figures.</summary>
internal static class Faults
{
    public static async Task<bool> RacingTriggersAsync(Azurite azurite, Report report, int instances, int tenants)
    {
        var prefix = InProcessApp.NewPrefix();
        var apps = Enumerable.Range(0, instances).Select(_ => new InProcessApp(azurite.ConnectionString, prefix)).ToList();
        try
        {
            var bad = new List<string>();
            var accepted = 0;
            await Parallel.ForEachAsync(Enumerable.Range(0, tenants), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (t, _) =>
            {
                var tenant = $"race-{t}";
                var clients = new List<HttpClient>();
                foreach (var app in apps)
                {
                    clients.Add(await Api.ClientForAsync(app.BaseUri, tenant));
                }

                // About a second of work (200 items of 20 ms, 4 at once), so every trigger lands while the sync runs even on a
                // busy 2-core machine; a 202 after the first sync has ended would be a new, legitimate sync.
                await Api.PutDemoAsync(clients[0], new { items = 200, item_delay_ms = 20 });
                // Every instance gets two triggers for the tenant at the same moment.
                var results = await Task.WhenAll(clients.Concat(clients).Select(c => Api.TriggerAsync(c)));
                var ids = results.Where(r => r.Status == HttpStatusCode.Accepted).Select(r => r.SyncId!).ToList();
                Interlocked.Add(ref accepted, ids.Count);
                if (ids.Count != 1 || results.Any(r => r.Status is not (HttpStatusCode.Accepted or HttpStatusCode.Conflict)))
                {
                    lock (bad)
                    {
                        bad.Add($"{tenant}: {string.Join(',', results.Select(r => (int)r.Status))}");
                    }
                }

                if (ids.Count >= 1)
                {
                    await Api.WaitForAsync(clients[0], ids[0], Api.Ended, TimeSpan.FromSeconds(60));
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

            foreach (var (tenant, list) in ops)
            {
                var sorted = list.OrderBy(o => o.CreatedAt).ToList();
                var overlapping = sorted.Zip(sorted.Skip(1)).Any(p => p.First.CompletedAt is null || p.Second.StartedAt < p.First.CompletedAt);
                if (list.Count != 1 || overlapping || list[0].Status != SyncStatus.Completed || list[0].RunAttempt != 1)
                {
                    bad.Add($"{tenant}: {list.Count} operations, {string.Join(',', list.Select(o => $"{o.Status}/attempt {o.RunAttempt}"))}");
                }
            }

            var pass = bad.Count == 0 && ops.Count == tenants;
            report.Add("faults", $"{instances} instances, racing triggers: exactly one run per tenant", pass ? 1 : 0, pass ? "PASS" : "FAIL", "PASS",
                $"{tenants} tenants x {instances * 2} simultaneous triggers: {accepted} accepted, {ops.Sum(o => o.Value.Count)} operations, each completed in one run{(bad.Count > 0 ? "; " + string.Join("; ", bad.Take(5)) : "")}");
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

    /// <summary>kill -9 of an instance mid-sync at random points, with two real app processes sharing one Azurite.</summary>
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
            var locks = 0;
            await foreach (var l in storage.Locks.QueryAsync<LockEntity>(e => e.RowKey == TableTenantLock.RowKey))
            {
                if (l.PartitionKey.StartsWith("kill-", StringComparison.Ordinal))
                {
                    locks++;
                }
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
                $"{string.Join(", ", outcomes.Select(o => $"{o.Key}={o.Value}"))}; all ended {waited.TotalSeconds:F0} s after the last kill; {locks} locks left; {stateRows} item-state rows (the demo connector keeps none: the check is processed + failed = total on each completed sync); heartbeat 2 s, sweep 5 s{(bad.Count > 0 ? "; " + string.Join("; ", bad.Take(5)) : "")}");
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
        using var app = new InProcessApp(azurite.ConnectionString, InProcessApp.NewPrefix(), new Dictionary<string, string?> { ["SYNC_HEARTBEAT_INTERVAL_SECONDS"] = "2", ["SYNC_CLEANUP_INTERVAL_SECONDS"] = "5" });
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
            await azurite.StopAsync();
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
        await azurite.StopAsync();
        return pass;
    }

    public static async Task<bool> ConnectorsAsync(Azurite azurite, Report report)
    {
        using var app = new InProcessApp(azurite.ConnectionString, InProcessApp.NewPrefix(), new Dictionary<string, string?>
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
    /// The Functions face: the app as a custom handler (FUNCTIONS_CUSTOMHANDLER_PORT, no local drivers), a run invocation built
    /// from the real queue message, the process killed mid-run, the message delivered again (DequeueCount + 1) to a new process,
    /// as the host would after the visibility timeout.
    /// </summary>
    public static async Task<bool> FunctionsFaceAsync(Azurite azurite, Report report)
    {
        var prefix = InProcessApp.NewPrefix();
        var port = Repo.FreePort();
        var env = new Dictionary<string, string> { ["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture), ["SYNC_HEARTBEAT_INTERVAL_SECONDS"] = "2" };
        var app = await ChildApp.StartAsync(azurite.ConnectionString, prefix, env, port);
        var storage = new SyncStorage(new StorageSettings(azurite.ConnectionString, null, null, null, null, prefix), new Telemetry.StorageRequestCounter());
        const int items = 1000;
        var deliveries = new List<string>();
        try
        {
            using var client = await Api.ClientForAsync(app.Http.BaseAddress!, "face");
            await Api.PutDemoAsync(client, new { items, item_delay_ms = 10 });
            var id = await Api.TriggerOkAsync(client);
            var visibility = TimeSpan.FromSeconds(8);
            var message = await ReceiveAsync(storage, visibility);
            var first = Post(app, message, message.DequeueCount);
            await Task.Delay(1500);
            await app.KillAsync();
            deliveries.Add($"#{message.DequeueCount}: killed mid-run");
            await app.DisposeAsync();
            app = await ChildApp.StartAsync(azurite.ConnectionString, prefix, env, port);
            var sw = Stopwatch.StartNew();
            var settled = false;
            while (!settled && sw.Elapsed < TimeSpan.FromSeconds(90))
            {
                message = await ReceiveAsync(storage, visibility);
                using var response = await Post(app, message, message.DequeueCount);
                deliveries.Add($"#{message.DequeueCount}: {(int)response.StatusCode}");
                if (response.IsSuccessStatusCode)
                {
                    // The host deletes the message after a 2xx.
                    await storage.RunQueue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                    settled = true;
                }
            }

            var op = (await storage.Operations.GetEntityAsync<SyncOperationEntity>("face", SyncId.RowKey(id))).Value;
            var lockLeft = await app.Http.GetAsync("/health/live") is { IsSuccessStatusCode: true } && (await storage.Locks.GetEntityIfExistsAsync<LockEntity>("face", TableTenantLock.RowKey)).HasValue;
            var pass = settled && op.IsTerminal && !lockLeft && (op.Status != SyncStatus.Completed || op.FilesProcessed + op.FilesFailed == items) && (op.Status != SyncStatus.Failed || !string.IsNullOrEmpty(op.FailureReason));
            report.Add("faults", "Functions face: POST /SyncRun whose process dies is redelivered and resumes or fails, never runs twice", pass ? 1 : 0, pass ? "PASS" : "FAIL", "PASS",
                $"deliveries {string.Join(", ", deliveries)}; sync {op.Status}{(op.FailureReason is null ? "" : $" ({op.FailureReason})")}, run attempt {op.RunAttempt}, {op.FilesProcessed}+{op.FilesFailed} of {items} items; lock left: {lockLeft}; ended {sw.Elapsed.TotalSeconds:F0} s after the kill");
            _ = first;
            return pass;
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    private static async Task<Azure.Storage.Queues.Models.QueueMessage> ReceiveAsync(SyncStorage storage, TimeSpan visibility)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var m = (await storage.RunQueue.ReceiveMessageAsync(visibility)).Value;
            if (m is not null)
            {
                return m;
            }

            if (sw.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException("no run message came back within 60 s");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>The host's invocation payload (the message JSON-encoded in a string, as the host sends it).</summary>
    private static Task<HttpResponseMessage> Post(ChildApp app, Azure.Storage.Queues.Models.QueueMessage m, long dequeueCount)
    {
        static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);
        var payload = new System.Text.Json.Nodes.JsonObject
        {
            ["Data"] = new System.Text.Json.Nodes.JsonObject { ["message"] = Quote(m.MessageText) },
            ["Metadata"] = new System.Text.Json.Nodes.JsonObject
            {
                ["DequeueCount"] = dequeueCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Id"] = Quote(m.MessageId),
                ["PopReceipt"] = Quote(m.PopReceipt),
                ["InsertionTime"] = (m.InsertedOn ?? DateTimeOffset.UtcNow).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                ["ExpirationTime"] = (m.ExpiresOn ?? DateTimeOffset.UtcNow.AddDays(7)).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                ["NextVisibleTime"] = (m.NextVisibleOn ?? DateTimeOffset.UtcNow).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                ["sys"] = new System.Text.Json.Nodes.JsonObject { ["MethodName"] = "SyncRun", ["UtcNow"] = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture), ["RandGuid"] = Guid.NewGuid().ToString() },
            },
        };
        var request = new HttpRequestMessage(HttpMethod.Post, "/SyncRun") { Content = System.Net.Http.Json.JsonContent.Create(payload) };
        request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
        request.Headers.UserAgent.ParseAdd("Azure-Functions-Custom-Handler/4.1040.300.0");
        return app.Http.SendAsync(request);
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
        using var app = new InProcessApp(azurite.ConnectionString, InProcessApp.NewPrefix(), new Dictionary<string, string?> { ["SYNC_CONNECT_TIMEOUT_SECONDS"] = "90" });
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
