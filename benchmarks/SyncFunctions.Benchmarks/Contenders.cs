using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using SyncFunctions.Connectors;
using SyncFunctions.LocalHost;
using SyncFunctions.Progress;
using SyncFunctions.Storage;
using SyncFunctions.TextbookPeer;

namespace SyncFunctions.Benchmarks;

/// <summary>A trigger's answer: its status code and, when accepted, the id of the sync it started.</summary>
internal sealed record TriggerAnswer(HttpStatusCode Status, string? SyncId);

/// <summary>
/// One way of writing the sync, as the side-by-side scenarios drive it: its functions (served by the same local host),
/// how a client triggers it and how a client sees it running. Everything else (demo connection, operation rows, the
/// counting proxy, the hub's Instances table) the scenarios read the same way for both.
/// </summary>
internal abstract class Contender
{
    public abstract string Name { get; }

    /// <summary>The assembly whose functions the local host serves.</summary>
    public abstract Assembly FunctionApp { get; }

    /// <summary>dotnet's arguments for a child process that serves <see cref="FunctionApp"/>.</summary>
    public abstract IReadOnlyList<string> ChildProgram { get; }

    public abstract Task<HttpClient> ClientForAsync(Uri baseUri, string tenant);

    public abstract Task<TriggerAnswer> TriggerAsync(HttpClient client, string tenant);

    /// <summary>Whether the client's status read says the sync runs (or has already ended): the lock was taken and work began.</summary>
    public abstract Task<bool> IsRunningAsync(HttpClient client, string tenant, string syncId);

    /// <summary>The orchestration instance that runs a sync.</summary>
    public abstract string InstanceOf(string tenant, string syncId);

    /// <summary>Settings an in-process host needs beyond the shared ones (log levels the end's log line needs).</summary>
    public virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();

    /// <summary>Triggers until accepted, as a client would (a 409 means the tenant's last sync is still finishing).</summary>
    public async Task<string> TriggerOkAsync(HttpClient client, string tenant, CancellationToken giveUp = default)
    {
        for (var i = 0; ; i++)
        {
            var answer = await TriggerAsync(client, tenant);
            if (answer.SyncId is not null)
            {
                return answer.SyncId;
            }

            if (answer.Status is not (HttpStatusCode.Conflict or HttpStatusCode.ServiceUnavailable) || i > 3_000)
            {
                throw new InvalidOperationException($"{Name}: trigger for {tenant} answered {(int)answer.Status}");
            }

            giveUp.ThrowIfCancellationRequested();
            await Task.Delay(answer.Status == HttpStatusCode.Conflict ? 20 : 1_000, CancellationToken.None);
        }
    }
}

/// <summary>SyncFunctions through its HTTP API, with a dev token per tenant.</summary>
internal sealed class SyncFunctionsContender : Contender
{
    public override string Name => "SyncFunctions";

    public override Assembly FunctionApp => LocalFunctionsHost.FunctionAppAssembly;

    public override IReadOnlyList<string> ChildProgram => [ChildApp.AppDll];

    public override Task<HttpClient> ClientForAsync(Uri baseUri, string tenant) => Api.ClientForAsync(baseUri, tenant);

    public override async Task<TriggerAnswer> TriggerAsync(HttpClient client, string tenant)
    {
        var (status, id) = await Api.TriggerAsync(client);
        return new TriggerAnswer(status, id);
    }

    public override async Task<bool> IsRunningAsync(HttpClient client, string tenant, string syncId) =>
        Api.Status(await Api.GetSyncAsync(client, syncId)) != SyncStatus.Queued;

    public override string InstanceOf(string tenant, string syncId) => syncId;
}

/// <summary>The textbook peer through its starter (POST) and status (GET) functions; no authentication.</summary>
internal sealed class TextbookContender : Contender
{
    /// <summary>Bench.Main's argument that makes the process a local host of the peer's functions.</summary>
    public const string HostArgument = "textbook-host";

    public override string Name => "textbook";

    public override Assembly FunctionApp => typeof(TextbookSyncOrchestration).Assembly;

    public override IReadOnlyList<string> ChildProgram => [typeof(TextbookContender).Assembly.Location, HostArgument];

    public override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        // The end of each run (Completions) is logged by the peer's activities.
        ["Logging:LogLevel:SyncFunctions.TextbookPeer"] = "Information",
    };

    /// <summary>The child process of <see cref="HostArgument"/>: the same local host, serving the peer's functions.</summary>
    public static async Task HostMainAsync()
    {
        // Stopped within the same bounds as the app's own local host, so a SIGTERM never leaves it running.
        await LocalFunctionsHost.RunUntilShutdownAsync(LocalFunctionsHost.Create([], functionApp: typeof(TextbookSyncOrchestration).Assembly));
    }

    public override Task<HttpClient> ClientForAsync(Uri baseUri, string tenant) =>
        Task.FromResult(new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(60) });

    public override async Task<TriggerAnswer> TriggerAsync(HttpClient client, string tenant)
    {
        using var r = await client.PostAsync($"/textbook/sync/{tenant}", null);
        if (r.StatusCode != HttpStatusCode.Accepted)
        {
            return new TriggerAnswer(r.StatusCode, null);
        }

        var body = await r.Content.ReadFromJsonAsync<JsonElement>();
        return new TriggerAnswer(r.StatusCode, body.GetProperty("run_id").GetString());
    }

    public override async Task<bool> IsRunningAsync(HttpClient client, string tenant, string syncId)
    {
        using var r = await client.GetAsync($"/textbook/sync/{tenant}");
        if (r.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        r.EnsureSuccessStatusCode();
        var body = await r.Content.ReadFromJsonAsync<JsonElement>();
        // The custom status is serialized by the host's converter: match its property name whatever its casing.
        return body.GetProperty("custom_status") is { ValueKind: JsonValueKind.Object } status
            && status.EnumerateObject().Any(p => p.Name.Equals(nameof(TextbookStatus.RunId), StringComparison.OrdinalIgnoreCase) && p.Value.GetString() == syncId);
    }

    public override string InstanceOf(string tenant, string syncId) => TextbookNames.InstanceId(tenant);
}

/// <summary>
/// The tables both contenders write, read straight from Azurite (not through the counting proxy, so reading costs a
/// scenario nothing): the tenant's demo connection, and the operation rows each run writes when it begins and ends.
/// </summary>
internal sealed class SharedTables(string azuriteConnectionString, string prefix)
{
    private readonly SyncStorage _storage = new(new StorageSettings(azuriteConnectionString, null, null, null, null, prefix), new Telemetry.StorageRequestCounter());

    public async Task PutDemoAsync(string tenant, object settings)
    {
        var values = JsonSerializer.SerializeToElement(settings).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
        await _storage.EnsureCreatedAsync(CancellationToken.None);
        // Demo settings carry no secret, so the protector never runs.
        var connections = new ConnectionStore(_storage, DataProtectionProvider.Create("bench"), TimeProvider.System);
        await connections.UpsertAsync(tenant, Connectors.Demo.DemoConnector.ConnectorName, new ConnectorSettings(values, new Dictionary<string, string>()), CancellationToken.None);
    }

    public async Task<List<SyncOperationEntity>> OperationsAsync(string tenant)
    {
        var list = new List<SyncOperationEntity>();
        await foreach (var op in _storage.Operations.QueryAsync<SyncOperationEntity>(o => o.PartitionKey == tenant))
        {
            list.Add(op);
        }

        return list;
    }

    public async Task<SyncOperationEntity?> OperationAsync(string tenant, string syncId)
    {
        var row = await _storage.Operations.GetEntityIfExistsAsync<SyncOperationEntity>(tenant, SyncId.RowKey(syncId));
        return row.HasValue ? row.Value : null;
    }
}
