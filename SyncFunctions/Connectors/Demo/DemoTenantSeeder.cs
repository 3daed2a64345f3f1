using System.Text.Json;

namespace SyncFunctions.Connectors.Demo;

/// <summary>
/// With <c>SYNC_DEMO_TENANT</c> set (the run command sets it to <c>demo</c>), gives that tenant a
/// <c>demo</c> connection on start, unless it already has one, so a fresh machine has something to sync.
/// </summary>
public sealed partial class DemoTenantSeeder(IConfiguration configuration, ConnectionStore connections, ILogger<DemoTenantSeeder> logger) : IHostedService
{
    public const string Variable = "SYNC_DEMO_TENANT";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var tenant = configuration[Variable];
        if (string.IsNullOrEmpty(tenant))
        {
            return;
        }

        if (!Security.InputRules.IsValidTenantId(tenant))
        {
            throw new InvalidOperationException($"{Variable} is not a valid tenant id (was '{tenant}').");
        }

        if (await connections.GetAsync(tenant, DemoConnector.ConnectorName, cancellationToken).ConfigureAwait(false) is not null)
        {
            return;
        }

        var settings = new Dictionary<string, JsonElement>
        {
            ["items"] = JsonSerializer.SerializeToElement(200),
            ["item_delay_ms"] = JsonSerializer.SerializeToElement(400),
        };
        await connections.UpsertAsync(tenant, DemoConnector.ConnectorName, new ConnectorSettings(settings, new Dictionary<string, string>()), cancellationToken).ConfigureAwait(false);
        LogSeeded(logger, tenant);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {TenantId} given a demo connection (200 items, 400 ms each)")]
    private static partial void LogSeeded(ILogger logger, string tenantId);
}
