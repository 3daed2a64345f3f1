using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SyncFunctions.LocalHost;
using SyncFunctions.LocalHost.Durable;
using SyncFunctions.Storage;

namespace SyncFunctions.Tests.Infrastructure;

/// <summary>
/// The app as the local host runs it (the real Durable extension, the Function App's own functions) on
/// Kestrel (loopback, a free port) against the shared Azurite, with a storage prefix and a task hub of
/// its own so test classes run in parallel. Settings are swapped per test; a clock given replaces the
/// app's <see cref="TimeProvider"/> (the Durable engine keeps real time: its timers are durable).
/// </summary>
public sealed class SyncApp : IAsyncDisposable
{
    public const string SigningKey = "test-signing-key-0123456789-abcdefghijklmnop";

    private readonly WebApplication _app;
    private readonly Dictionary<string, string?> _settings;

    private SyncApp(WebApplication app, Dictionary<string, string?> settings, LogCollector logs)
    {
        _app = app;
        _settings = settings;
        Logs = logs;
        BaseAddress = new Uri(app.Urls.First());
    }

    public LogCollector Logs { get; }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    public string Prefix => _settings[StorageSettings.PrefixSettingName]!;

    public string TaskHub => _settings["SYNC_TASK_HUB"]!;

    public string FolderRoot => _settings["FOLDER_CONNECTOR_ROOT"]!;

    public SyncStorage Storage => Services.GetRequiredService<SyncStorage>();

    /// <summary>Waits (bounded) for an exact log line: a run logs its end just after writing it.</summary>
    public Task WaitForLogAsync(string line) =>
        Eventually.MatchAsync(() => Task.FromResult(Logs.Lines.Contains(line)), seen => seen, $"the log line '{line}'", TimeSpan.FromSeconds(60));

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    public Task<DurableTaskClient> DurableClientAsync() =>
        Services.GetRequiredService<LocalDurableClient>().GetAsync(CancellationToken.None);

    /// <summary>The tenant's TenantLock entity: who holds it, or null when it is free.</summary>
    public async Task<SyncFunctions.Locking.TenantLockState?> LockOfAsync(string tenantId)
    {
        var client = await DurableClientAsync();
        return (await client.Entities.GetEntityAsync<SyncFunctions.Locking.TenantLockState>(SyncFunctions.Locking.TenantLock.For(tenantId)))?.State;
    }

    /// <summary>One sweep of every tenant, or of one, as the timer and the cleanup API run it.</summary>
    public async Task<SyncFunctions.Sweep.SweepResult> SweepAsync(string? tenantId = null) =>
        await Get<SyncFunctions.Sweep.StaleSyncSweep>().SweepAsync(await DurableClientAsync(), tenantId, CancellationToken.None);

    /// <param name="settings">Overrides of the app's settings (environment-variable names).</param>
    /// <param name="clock">The app's clock; the system clock when null.</param>
    /// <param name="prefix">Share another app's storage and task hub (a second instance) by passing its prefix.</param>
    /// <param name="services">Replaces services after the app's own (a fake credential, say).</param>
    /// <param name="functionApp">Serve another assembly's functions (the local host's own contract tests).</param>
    public static async Task<SyncApp> StartAsync(
        IReadOnlyDictionary<string, string?>? settings = null, TimeProvider? clock = null, string? prefix = null,
        Action<IServiceCollection>? services = null, Assembly? functionApp = null)
    {
        var azurite = await AzuriteServer.GetAsync();
        var folderRoot = Directory.CreateTempSubdirectory("syncfunctions-folders-").FullName;
        prefix ??= NewPrefix();
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            [StorageSettings.PrefixSettingName] = prefix,
            ["SYNC_TASK_HUB"] = prefix + "hub",
            ["AUTH_DEV_SIGNING_KEY"] = SigningKey,
            ["FOLDER_CONNECTOR_ROOT"] = folderRoot,
            ["SYNC_DEMO_TENANT"] = "",
            ["SYNC_TELEMETRY_CONSOLE"] = "false",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var logs = new LogCollector();
        var app = LocalFunctionsHost.Create(
            ["--urls", "http://127.0.0.1:0", "--environment", "Development"],
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(all);
                builder.Logging.AddProvider(logs);
                if (clock is not null)
                {
                    builder.Services.Replace(ServiceDescriptor.Singleton(clock));
                }

                services?.Invoke(builder.Services);
            },
            functionApp);
        await app.StartAsync();
        return new SyncApp(app, all, logs);
    }

    /// <summary>What a process that died mid-sync leaves: the tenant's lock and a running operation whose last heartbeat is this old.</summary>
    public async Task<string> LeaveAHolderAsync(string tenant, TimeSpan heartbeatAge)
    {
        var now = DateTimeOffset.UtcNow;
        var syncId = SyncFunctions.Progress.SyncId.New(now - heartbeatAge - TimeSpan.FromSeconds(5));
        var operation = new SyncFunctions.Progress.SyncOperationEntity
        {
            SyncId = syncId,
            TenantId = tenant,
            Status = SyncFunctions.Progress.SyncStatus.Running,
            Connectors = "demo",
            CreatedAt = SyncFunctions.Progress.SyncId.StartTime(syncId),
            StartedAt = SyncFunctions.Progress.SyncId.StartTime(syncId),
            HeartbeatAt = now - heartbeatAge,
            ExpectedDurationSeconds = 300,
            DeadlineAt = now.AddHours(1),
        };
        await Get<SyncFunctions.Progress.SyncOperationStore>().InsertAsync(operation, CancellationToken.None);
        var durable = await DurableClientAsync();
        await durable.Entities.SignalEntityAsync(SyncFunctions.Locking.TenantLock.For(tenant), nameof(SyncFunctions.Locking.TenantLock.Acquire), new SyncFunctions.Locking.LockRequest(syncId, operation.StartedAt.Value));
        await Eventually.MatchAsync(() => LockOfAsync(tenant), l => l?.HolderSyncId == syncId, "the holder to hold the lock");
        return syncId;
    }

    public static string NewPrefix() => "t" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));

    /// <summary>A tenant id no other test uses.</summary>
    public static string NewTenant(string hint = "tenant") => $"{hint}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(100) };

    /// <summary>A client with a dev token for the tenant, obtained the way the dashboard gets one.</summary>
    public async Task<HttpClient> ClientForAsync(string tenantId, string? email = null, params string[] roles)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await TokenForAsync(tenantId, email, roles));
        return client;
    }

    /// <summary>A dev token from POST /api/dev/token.</summary>
    public async Task<string> TokenForAsync(string tenantId, string? email = null, params string[] roles)
    {
        using var client = CreateClient();
        var response = await client.PostAsJsonAsync("/api/dev/token", new { tenant_id = tenantId, email = email ?? $"user@{tenantId}.example", roles });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("access_token").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(FolderRoot, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
