using System.Net.Http.Json;
using System.Text.Json;

namespace SyncFunctions.Tests.Infrastructure;

internal static class ApiClientExtensions
{
    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task PutConnectionAsync(this HttpClient client, string connector, object settings, object? secrets = null)
    {
        var response = await client.PutAsJsonAsync($"/api/v1/connections/{connector}", new { settings, secrets });
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT connection {connector}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Triggers a sync and returns its id; fails the test unless it was accepted.</summary>
    public static async Task<string> TriggerAsync(this HttpClient client, params string[] connectors)
    {
        var response = connectors.Length == 0
            ? await client.PostAsync("/api/v1/sync", null)
            : await client.PostAsJsonAsync("/api/v1/sync", new { connectors });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"trigger answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("sync_id").GetString()!;
    }

    public static async Task<JsonElement> GetSyncAsync(this HttpClient client, string syncId)
    {
        var response = await client.GetAsync($"/api/v1/sync/{syncId}");
        response.EnsureSuccessStatusCode();
        return await response.JsonAsync();
    }

    /// <summary>Polls the sync until <paramref name="condition"/> holds (real time, bounded).</summary>
    public static Task<JsonElement> WaitForSyncAsync(this HttpClient client, string syncId, Func<JsonElement, bool> condition, string what, TimeSpan? timeout = null) =>
        Eventually.MatchAsync(() => client.GetSyncAsync(syncId), condition, what, timeout);

    /// <summary>
    /// Polls the sync while moving a stopped clock on by the progress flush interval each time, so
    /// progress held back by the coalescing is written (the clock moves only as far as needed).
    /// </summary>
    public static Task<JsonElement> WaitForSyncAsync(this HttpClient client, string syncId, Microsoft.Extensions.Time.Testing.FakeTimeProvider clock, Func<JsonElement, bool> condition, string what) =>
        Eventually.MatchAsync(
            async () =>
            {
                var sync = await client.GetSyncAsync(syncId);
                if (!condition(sync))
                {
                    clock.Advance(TimeSpan.FromSeconds(1));
                }

                return sync;
            },
            condition,
            what);

    public static Task<JsonElement> WaitForEndAsync(this HttpClient client, string syncId, TimeSpan? timeout = null) =>
        client.WaitForSyncAsync(syncId, s => s.GetProperty("status").GetString() is "completed" or "failed" or "cancelled", $"sync {syncId} to end", timeout);
}
