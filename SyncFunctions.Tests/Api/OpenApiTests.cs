using System.Net;
using System.Text.Json;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Api;

public sealed class OpenApiTests(SharedSyncApp fixture) : IClassFixture<SharedSyncApp>
{
    private async Task<JsonElement> DocumentAsync()
    {
        using var client = fixture.App.CreateClient();
        var response = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.JsonAsync();
    }

    private static HashSet<string> Operations(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(o => $"{o.Name.ToUpperInvariant()} {p.Name}"))
            .ToHashSet(StringComparer.Ordinal);

    [Fact]
    public async Task Document_ListsEveryRouteOfTheHttpContract()
    {
        var operations = Operations(await DocumentAsync());

        string[] contract =
        [
            "POST /api/v1/sync",
            "GET /api/v1/sync/status",
            "GET /api/v1/sync/{syncId}",
            "GET /api/v1/sync/history",
            "POST /api/v1/sync/{syncId}/cancel",
            "POST /api/v1/sync/cleanup",
            "POST /api/integrations/{connector}/sync",
            "GET /api/sync-progress/{syncId}",
            "GET /api/v1/connections",
            "PUT /api/v1/connections/{connector}",
            "DELETE /api/v1/connections/{connector}",
            "GET /health/live",
            "GET /health/ready",
        ];
        Assert.Empty(contract.Except(operations));
    }

    [Fact]
    public async Task Document_LeavesOutTheHostInvocationsAndTheDevToken()
    {
        var paths = (await DocumentAsync()).GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();

        Assert.DoesNotContain("/SyncRun", paths);
        Assert.DoesNotContain("/StaleSyncSweep", paths);
        Assert.DoesNotContain("/api/dev/token", paths);
    }

    [Fact]
    public async Task Document_NamesAndSummarisesEveryOperationAndMarksTheAuthenticatedOnes()
    {
        var document = await DocumentAsync();
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(o => (Path: p.Name, Operation: o.Value)))
            .ToList();

        var ids = operations.Select(o => o.Operation.GetProperty("operationId").GetString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(operations, o => Assert.False(string.IsNullOrWhiteSpace(o.Operation.GetProperty("summary").GetString()), o.Path));
        Assert.Equal("http", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer").GetProperty("type").GetString());
        foreach (var (path, operation) in operations)
        {
            Assert.Equal(path.StartsWith("/api/", StringComparison.Ordinal), operation.TryGetProperty("security", out _));
        }
    }

    [Fact]
    public async Task Document_NamesPropertiesInSnakeCaseLikeTheWire()
    {
        var schemas = (await DocumentAsync()).GetProperty("components").GetProperty("schemas");

        var trigger = schemas.GetProperty("TriggerSyncResponse").GetProperty("properties");
        Assert.True(trigger.TryGetProperty("sync_id", out _));
        Assert.True(trigger.TryGetProperty("expected_duration_seconds", out _));
    }

    /// <summary>
    /// The document is kept beside the functions (Api/openapi.json): every operation it lists is an HTTP
    /// function's route and method, and every API function is in it, but for the ones it leaves out on
    /// purpose (the dashboard, the document itself, the catch-all 404, the development token and the
    /// SignalR negotiate, which issue 16 adds).
    /// </summary>
    [Fact]
    public async Task Document_AndTheHttpFunctions_NameTheSameOperations()
    {
        using var client = fixture.App.CreateClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
        var documented = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => $"{op.Name.ToUpperInvariant()} {path.Name}"))
            .Order(StringComparer.Ordinal).ToList();

        string[] undocumented = ["Dashboard", "DashboardFiles", "OpenApiDocument", "ApiNotFound", "IssueDevToken", "NegotiateLiveProgress"];
        var functions = SyncFunctions.LocalHost.Catalog.FunctionCatalog.Load(typeof(SyncFunctions.SyncFunctionsApp).Assembly)
            .OfKind(SyncFunctions.LocalHost.Catalog.TriggerKind.Http)
            .Where(f => !undocumented.Contains(f.Name))
            .SelectMany(f => f.HttpMethods.Select(m => $"{m.ToUpperInvariant()} /{f.Route}"))
            .Order(StringComparer.Ordinal).ToList();

        Assert.Equal(functions, documented);
    }
}
