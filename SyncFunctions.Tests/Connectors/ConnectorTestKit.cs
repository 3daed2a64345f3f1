using System.Text.Json;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Connectors;

/// <summary>What the SaaS connector tests share: the app's settings for fakes, and reading back what a sync did.</summary>
internal static class ConnectorTestKit
{
    public const int RequestTimeoutSeconds = 2;

    /// <summary>Short request timeout and retry delay, fast progress writes: the fakes answer on loopback.</summary>
    public static Dictionary<string, string?> Settings() => new()
    {
        ["SYNC_REQUEST_TIMEOUT_SECONDS"] = RequestTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SYNC_REQUEST_RETRY_DELAY_MILLISECONDS"] = "50",
        ["SYNC_PROGRESS_FLUSH_MILLISECONDS"] = "100",
    };

    public static async Task<JsonElement> SyncAsync(this HttpClient client, string connector)
    {
        var syncId = await client.TriggerAsync(connector);
        return await client.WaitForEndAsync(syncId, TimeSpan.FromSeconds(60));
    }

    public static string Status(this JsonElement sync) => sync.GetProperty("status").GetString()!;

    public static JsonElement Connector(this JsonElement sync) => Assert.Single(sync.GetProperty("connectors").EnumerateArray());

    public static int Int(this JsonElement element, string name) => element.GetProperty(name).GetInt32();

    public static List<(string Item, string Reason)> FailureSamples(this JsonElement sync) =>
        sync.Connector().GetProperty("failure_samples").EnumerateArray()
            .Select(s => (s.GetProperty("item").GetString()!, s.GetProperty("reason").GetString()!)).ToList();

    /// <summary>The documents a sync wrote, read from its JSON Lines batches.</summary>
    public static async Task<List<JsonElement>> DocumentsAsync(SyncApp app, string tenant, string connector, string syncId)
    {
        var documents = new List<JsonElement>();
        await foreach (var blob in app.Storage.Documents.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, $"{tenant}/{connector}/{syncId}/", CancellationToken.None))
        {
            var content = await app.Storage.Documents.GetBlobClient(blob.Name).DownloadContentAsync();
            documents.AddRange(content.Value.Content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()));
        }

        return documents;
    }

    /// <summary>Waits until the sync's progress shows <paramref name="currentItem"/> as the item being worked on.</summary>
    public static Task<JsonElement> WaitForCurrentItemAsync(this HttpClient client, string syncId, string currentItem) =>
        Eventually.MatchAsync(
            async () => await (await client.GetAsync($"/api/sync-progress/{syncId}")).JsonAsync(),
            p => p.TryGetProperty("current_item", out var item) && item.ValueKind == JsonValueKind.String && item.GetString() == currentItem,
            $"current_item '{currentItem}'");

    /// <summary>No secret in any log line, in the connections listing, or in the sync as the API shows it.</summary>
    public static async Task AssertSecretsNeverShownAsync(SyncApp app, HttpClient client, string syncId, params string[] secrets)
    {
        var connections = await (await client.GetAsync("/api/v1/connections")).Content.ReadAsStringAsync();
        var sync = await (await client.GetAsync($"/api/v1/sync/{syncId}")).Content.ReadAsStringAsync();
        var progress = await (await client.GetAsync($"/api/sync-progress/{syncId}")).Content.ReadAsStringAsync();
        Assert.NotEmpty(app.Logs.Lines);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(app.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(secret, connections, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, sync, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, progress, StringComparison.Ordinal);
        }
    }
}

/// <summary>One app for a connector test class, set up for fakes; each test brings its own tenant and fake.</summary>
public sealed class ConnectorAppFixture : IAsyncLifetime
{
    public SyncApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await SyncApp.StartAsync(ConnectorTestKit.Settings());

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
    }
}
