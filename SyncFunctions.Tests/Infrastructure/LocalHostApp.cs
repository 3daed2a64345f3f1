using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.DurableTask.Client;
using SyncFunctions.LocalHost;
using SyncFunctions.LocalHost.Durable;

namespace SyncFunctions.Tests.Infrastructure;

/// <summary>
/// SyncFunctions.LocalHost in the test process: the real Durable extension on the shared Azurite,
/// on a free loopback port, with a task hub and a storage prefix of its own so test classes run in
/// parallel. Settings are swapped per test; <paramref name="functionApp"/> serves another assembly's functions.
/// </summary>
public sealed class LocalHostApp : IAsyncDisposable
{
    public const string SigningKey = SyncApp.SigningKey;

    private readonly WebApplication _app;

    private LocalHostApp(WebApplication app, string taskHub, LogCollector logs)
    {
        _app = app;
        TaskHub = taskHub;
        Logs = logs;
        BaseAddress = new Uri(app.Urls.First());
    }

    public string TaskHub { get; }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    public LogCollector Logs { get; }

    public static async Task<LocalHostApp> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, Assembly? functionApp = null)
    {
        var azurite = await AzuriteServer.GetAsync();
        var taskHub = "h" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["SYNC_TASK_HUB"] = taskHub,
            [SyncFunctions.Storage.StorageSettings.PrefixSettingName] = SyncApp.NewPrefix(),
            ["AUTH_DEV_SIGNING_KEY"] = SigningKey,
            ["SYNC_DEMO_TENANT"] = "",
            ["SYNC_TELEMETRY_CONSOLE"] = "false",
            ["SYNC_DISABLE_LOCAL_DRIVERS"] = "true",
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
            },
            functionApp);
        await app.StartAsync();
        return new LocalHostApp(app, taskHub, logs);
    }

    public Task<DurableTaskClient> DurableClientAsync() =>
        Services.GetRequiredService<LocalDurableClient>().GetAsync(CancellationToken.None);

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
