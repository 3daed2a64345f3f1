using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Storage;

namespace SyncFunctions.Tests.Infrastructure;

/// <summary>
/// The real app on Kestrel (loopback, a free port) against the shared Azurite, with its own storage
/// prefix so its tables and queues are its alone. Settings are swapped per test; a
/// <see cref="FakeTimeProvider"/> drives the engine's clock when a test passes one.
/// </summary>
public sealed class SyncApp : WebApplicationFactory<Program>
{
    public const string SigningKey = "test-signing-key-0123456789-abcdefghijklmnop";

    private readonly Dictionary<string, string?> _settings;
    private readonly TimeProvider? _clock;
    private readonly Action<IServiceCollection>? _services;

    private SyncApp(Dictionary<string, string?> settings, TimeProvider? clock, Action<IServiceCollection>? services)
    {
        _settings = settings;
        _clock = clock;
        _services = services;
        UseKestrel(0);
    }

    public LogCollector Logs { get; } = new();

    public string Prefix => _settings[StorageSettings.PrefixSettingName]!;

    public string FolderRoot => _settings["FOLDER_CONNECTOR_ROOT"]!;

    public SyncStorage Storage => Services.GetRequiredService<SyncStorage>();

    /// <summary>Waits (bounded) for an exact log line: a run logs its end just after writing it.</summary>
    public Task WaitForLogAsync(string line) =>
        Eventually.MatchAsync(() => Task.FromResult(Logs.Lines.Contains(line)), seen => seen, $"the log line '{line}'");

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    /// <param name="settings">Overrides of the app's settings (environment-variable names).</param>
    /// <param name="clock">The engine's clock; the system clock when null.</param>
    /// <param name="prefix">Share another app's storage (a second instance) by passing its prefix.</param>
    /// <param name="services">Replaces services after the app's own (a fake credential, say).</param>
    public static async Task<SyncApp> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, TimeProvider? clock = null, string? prefix = null, Action<IServiceCollection>? services = null)
    {
        var azurite = await AzuriteServer.GetAsync();
        var folderRoot = Directory.CreateTempSubdirectory("syncfunctions-folders-").FullName;
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            [StorageSettings.PrefixSettingName] = prefix ?? NewPrefix(),
            ["AUTH_DEV_SIGNING_KEY"] = SigningKey,
            ["FOLDER_CONNECTOR_ROOT"] = folderRoot,
            ["SYNC_DEMO_TENANT"] = "",
            ["SYNC_TELEMETRY_CONSOLE"] = "false",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var app = new SyncApp(all, clock, services);
        app.StartServer();
        return app;
    }

    public static string NewPrefix() => "t" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));

    /// <summary>A tenant id no other test uses.</summary>
    public static string NewTenant(string hint = "tenant") => $"{hint}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

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

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(_settings));
        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        builder.ConfigureTestServices(services =>
        {
            if (_clock is not null)
            {
                services.AddSingleton(_clock);
            }

            _services?.Invoke(services);
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
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
}
