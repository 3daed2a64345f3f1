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
            "GET /api/sync-progress/{syncId}/stream",
            "POST /api/negotiate",
            "POST /api/dev/token",
            "GET /api/v1/connections",
            "PUT /api/v1/connections/{connector}",
            "DELETE /api/v1/connections/{connector}",
            "GET /health/live",
            "GET /health/ready",
            "GET /api/v1/notifications",
            "PUT /api/v1/notifications",
            "GET /openapi/v1.json",
        ];
        Assert.Empty(contract.Except(operations));
    }

    [Fact]
    public async Task Document_LeavesOutTheHostInvocations()
    {
        var paths = (await DocumentAsync()).GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();

        Assert.DoesNotContain("/SyncRun", paths);
        Assert.DoesNotContain("/StaleSyncSweep", paths);
    }

    [Fact]
    public async Task Document_DescribesTheDevTokenAsDevelopmentOnlyAndUnauthenticated()
    {
        var devToken = (await DocumentAsync()).GetProperty("paths").GetProperty("/api/dev/token").GetProperty("post");

        var description = devToken.GetProperty("description").GetString()!;
        Assert.Contains("Development", description, StringComparison.Ordinal);
        Assert.Contains("AUTH_AUTHORITY", description, StringComparison.Ordinal);
        Assert.Contains("loopback", description, StringComparison.Ordinal);
        Assert.False(devToken.TryGetProperty("security", out _));
        Assert.True(devToken.GetProperty("responses").TryGetProperty("404", out _));
    }

    [Fact]
    public async Task Document_ListsTheErrorsEveryAuthenticatedOperationCanAnswer()
    {
        var document = await DocumentAsync();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var responses = operation.Value.GetProperty("responses");
                var codes = responses.EnumerateObject().Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
                var where = $"{operation.Name} {path.Name}: {string.Join(", ", codes)}";
                Assert.True(codes.IsSupersetOf(["500", "503"]), where);
                if (operation.Value.TryGetProperty("security", out _))
                {
                    Assert.True(codes.IsSupersetOf(["400", "401", "403"]), where);
                    Assert.Equal("#/components/responses/Unauthorized", responses.GetProperty("401").GetProperty("$ref").GetString());
                }

                if (path.Name.Contains("{syncId}", StringComparison.Ordinal) || operation.Name == "delete")
                {
                    Assert.True(codes.Contains("404"), where);
                }

                if (operation.Value.TryGetProperty("requestBody", out _))
                {
                    Assert.True(codes.Contains("415"), where);
                }
            }
        }

        var unauthorized = document.GetProperty("components").GetProperty("responses").GetProperty("Unauthorized");
        Assert.True(unauthorized.GetProperty("headers").TryGetProperty("WWW-Authenticate", out _));
        var cancel = document.GetProperty("paths").GetProperty("/api/v1/sync/{syncId}/cancel").GetProperty("post").GetProperty("responses");
        Assert.True(cancel.TryGetProperty("409", out _));
        var stream = document.GetProperty("paths").GetProperty("/api/sync-progress/{syncId}/stream").GetProperty("get").GetProperty("responses");
        Assert.True(stream.GetProperty("200").GetProperty("content").TryGetProperty("text/event-stream", out _));
        Assert.True(stream.TryGetProperty("204", out _));
    }

    [Fact]
    public async Task Document_RequiresNoFieldTheServerDoesNot()
    {
        var schemas = (await DocumentAsync()).GetProperty("components").GetProperty("schemas");

        Assert.False(schemas.GetProperty("TriggerSyncRequest").TryGetProperty("required", out _));
        Assert.False(schemas.GetProperty("PutConnectionRequest").TryGetProperty("required", out _));
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
            // Every API route needs a token but the one that issues them (Development only).
            Assert.Equal(path.StartsWith("/api/", StringComparison.Ordinal) && path != "/api/dev/token", operation.TryGetProperty("security", out _));
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
    /// function's route and method, and every HTTP function is in it, but for the ones it leaves out on
    /// purpose: the dashboard's pages and files, and the catch-all 404.
    /// </summary>
    [Fact]
    public async Task Document_AndTheHttpFunctions_NameTheSameOperations()
    {
        using var client = fixture.App.CreateClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
        var documented = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => $"{op.Name.ToUpperInvariant()} {path.Name}"))
            .Order(StringComparer.Ordinal).ToList();

        string[] undocumented = ["Dashboard", "DashboardFiles", "ApiNotFound"];
        var functions = SyncFunctions.LocalHost.Catalog.FunctionCatalog.Load(typeof(SyncFunctions.SyncFunctionsApp).Assembly)
            .OfKind(SyncFunctions.LocalHost.Catalog.TriggerKind.Http)
            .Where(f => !undocumented.Contains(f.Name))
            .SelectMany(f => f.HttpMethods.Select(m => $"{m.ToUpperInvariant()} /{f.Route}"))
            .Order(StringComparer.Ordinal).ToList();

        Assert.Equal(functions, documented);
    }
}
