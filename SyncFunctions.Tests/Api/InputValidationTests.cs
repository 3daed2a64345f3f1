using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Api;

/// <summary>
/// Bad input never reaches a table key: every rejected request answers 400 problem details (or, when
/// Kestrel routes an encoded character elsewhere, another 4xx problem) and leaves storage untouched.
/// </summary>
public sealed class InputValidationTests(SharedSyncApp fixture) : IClassFixture<SharedSyncApp>
{
    private const string Admin = "sync.admin";
    private const string ValidSyncId = "01JABCDEFGHJKMNPQRSTVWXYZ0";

    private static readonly string OneKilobyte = new('a', 1024);

    private SyncApp App => fixture.App;

    // Tenant ids and connector names that must never become a table key. Control characters and the
    // key-breaking / \ # ? are the ones Azure Table Storage forbids; 1 KB is far past either limit.
    public static TheoryData<string> KeyBreakingValues => new()
    {
        "a/b",
        "a\\b",
        "a#b",
        "a?b",
        "a\u0001b",
        "a\tb",
        "a\u007fb",
        "a b",
        OneKilobyte,
    };

    [Theory]
    [MemberData(nameof(KeyBreakingValues))]
    public async Task PutConnection_WithKeyBreakingConnectorName_IsRejectedAndStoresNothing(string connector)
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);

        var response = await client.PutAsJsonAsync($"/api/v1/connections/{Uri.EscapeDataString(connector)}", new { settings = new { items = 1 } });

        await AssertRejectedPathAsync(response);
        await AssertNoConnectionsAsync(client);
        await AssertNoRawConnectionRowAsync(tenant);
    }

    [Theory]
    [MemberData(nameof(KeyBreakingValues))]
    public async Task DeleteConnection_WithKeyBreakingConnectorName_IsRejected(string connector)
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());
        await client.PutConnectionAsync("demo", new { items = 1 });

        var response = await client.DeleteAsync($"/api/v1/connections/{Uri.EscapeDataString(connector)}");

        await AssertRejectedPathAsync(response);
        var list = await (await client.GetAsync("/api/v1/connections")).JsonAsync();
        Assert.Equal(["demo"], list.GetProperty("connections").EnumerateArray().Select(c => c.GetProperty("connector").GetString()));
    }

    [Theory]
    [MemberData(nameof(KeyBreakingValues))]
    public async Task IntegrationTrigger_WithKeyBreakingConnectorName_IsRejectedAndStartsNothing(string connector)
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 1 });

        var response = await client.PostAsync($"/api/integrations/{Uri.EscapeDataString(connector)}/sync", null);

        await AssertRejectedPathAsync(response);
        await AssertNoSyncAsync(client, tenant);
    }

    [Theory]
    [MemberData(nameof(KeyBreakingValues))]
    public async Task Trigger_WithKeyBreakingConnectorNameInBody_Returns400AndStartsNothing(string connector)
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 1 });

        var response = await client.PostAsJsonAsync("/api/v1/sync", new { connectors = new[] { connector } });

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("connectors[0]", out _), problem.ToString());
        await AssertNoSyncAsync(client, tenant);
    }

    [Theory]
    [InlineData("a/b")] // another route, or none
    [InlineData("a\\b")] // the client sends it as '/'
    [InlineData("demo/../../sync")] // dot segments are resolved before routing
    [InlineData("a#b")] // the fragment never leaves the client: connector "a"
    [InlineData("a?b")] // the rest is a query: connector "a"
    public async Task PutConnection_WithUnencodedSpecialCharacters_IsRejectedAndStoresNothing(string connector)
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);

        var response = await client.PutAsJsonAsync("/api/v1/connections/" + connector, new { settings = new { items = 1 } });

        // Whatever route the raw characters lead to, it is a 4xx problem, never a success or a crash.
        Assert.True(
            response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed,
            $"expected 400, 404 or 405, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        await ProblemAssert.AssertProblemAsync(response, response.StatusCode);
        await AssertNoConnectionsAsync(client);
        await AssertNoRawConnectionRowAsync(tenant);
    }

    [Theory]
    [MemberData(nameof(KeyBreakingValues))]
    [InlineData("")]
    [InlineData("-leading-dash")]
    [InlineData("~sweeper")]
    public async Task AdminTenantQuery_WithInvalidTenantId_Returns400AndWritesNothing(string tenantId)
    {
        var own = SyncApp.NewTenant("admin");
        using var admin = await App.ClientForAsync(own, null, Admin);
        var query = "?tenant_id=" + Uri.EscapeDataString(tenantId);

        var put = await admin.PutAsJsonAsync("/api/v1/connections/demo" + query, new { settings = new { items = 1 } });
        var problem = await ProblemAssert.AssertProblemAsync(put, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("tenant_id", out _), problem.ToString());

        var trigger = await admin.PostAsync("/api/v1/sync" + query, null);
        await ProblemAssert.AssertProblemAsync(trigger, HttpStatusCode.BadRequest);

        foreach (var read in new[] { "/api/v1/connections", "/api/v1/sync/status", "/api/v1/sync/history" })
        {
            await ProblemAssert.AssertProblemAsync(await admin.GetAsync(read + query), HttpStatusCode.BadRequest);
        }

        await ProblemAssert.AssertProblemAsync(await admin.PostAsync("/api/v1/sync/cleanup" + query, null), HttpStatusCode.BadRequest);

        // Nothing for the named tenant, nor (by a fallback) for the admin's own.
        await AssertNoRawConnectionRowAsync(tenantId);
        await AssertNoConnectionsAsync(admin);
        await AssertNoSyncAsync(admin, own);
    }

    [Fact]
    public async Task PutConnection_WithUnknownConnector_Returns400AndStoresNothing()
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);

        var response = await client.PutAsJsonAsync("/api/v1/connections/nope", new { settings = new { items = 1 } });

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("nope", problem.GetProperty("errors").GetProperty("connector")[0].GetString(), StringComparison.Ordinal);
        await AssertNoConnectionsAsync(client);
        await AssertNoRawConnectionRowAsync(tenant);
    }

    [Fact]
    public async Task Trigger_WithUnknownConnector_Returns400AndStartsNothing()
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 1 });

        var response = await client.PostAsJsonAsync("/api/v1/sync", new { connectors = (string[])["nope"] });

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("connectors.nope", out _), problem.ToString());
        await AssertNoSyncAsync(client, tenant);
    }

    [Fact]
    public async Task IntegrationTrigger_WithUnknownConnector_Returns400AndStartsNothing()
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 1 });

        var response = await client.PostAsync("/api/integrations/nope/sync", null);

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        await AssertNoSyncAsync(client, tenant);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"settings\": []}")]
    [InlineData("{\"settings\": {\"items\": 1}, \"secrets\": {\"token\": 42}}")]
    [InlineData("{\"settings\": {\"items\": 1}, \"extra\": true}")]
    [InlineData("{\"setings\": {\"items\": 1}}")]
    [InlineData("null")]
    public async Task PutConnection_WithMalformedBody_Returns400AndStoresNothing(string body)
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);

        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await client.PutAsync("/api/v1/connections/demo", content);

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        await AssertNoConnectionsAsync(client);
        await AssertNoRawConnectionRowAsync(tenant);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("not json")]
    [InlineData("{\"connectors\": \"demo\"}")]
    [InlineData("{\"connectors\": [1]}")]
    [InlineData("{\"connectors\": [null]}")]
    [InlineData("{\"connector\": [\"demo\"]}")]
    public async Task Trigger_WithMalformedBody_Returns400AndStartsNothing(string body)
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 1 });

        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await client.PostAsync("/api/v1/sync", content);

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        await AssertNoSyncAsync(client, tenant);
    }

    [Theory]
    [InlineData("{\"items\": -1}", "settings.items")]
    [InlineData("{\"items\": 1.5}", "settings.items")]
    [InlineData("{\"items\": \"5\"}", "settings.items")]
    [InlineData("{\"items\": 1000001}", "settings.items")]
    [InlineData("{\"item_delay_ms\": \"abc\"}", "settings.item_delay_ms")]
    [InlineData("{\"item_delay_ms\": -5}", "settings.item_delay_ms")]
    [InlineData("{\"fail_every\": true}", "settings.fail_every")]
    [InlineData("{\"hang_after\": null}", "settings.hang_after")]
    [InlineData("{\"itemz\": 5}", "settings.itemz")]
    public async Task PutDemo_WithInvalidSetting_Returns400NamingItAndStoresNothing(string settings, string field)
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);

        using var content = new StringContent($"{{\"settings\": {settings}}}", Encoding.UTF8, "application/json");
        var response = await client.PutAsync("/api/v1/connections/demo", content);

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        await AssertNoConnectionsAsync(client);
        await AssertNoRawConnectionRowAsync(tenant);
    }

    [Fact]
    public async Task PutDemo_WithInvalidSetting_KeepsThePreviousConnection()
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());
        await client.PutConnectionAsync("demo", new { items = 7 });

        var response = await client.PutAsJsonAsync("/api/v1/connections/demo", new { settings = new { items = -1 } });

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        var list = await (await client.GetAsync("/api/v1/connections")).JsonAsync();
        var demo = Assert.Single(list.GetProperty("connections").EnumerateArray());
        Assert.Equal(7, demo.GetProperty("settings").GetProperty("items").GetInt32());
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("01JABCDEFGHJKMNPQRSTVWXYZ")] // 25 characters
    [InlineData("01JABCDEFGHJKMNPQRSTVWXYZ00")] // 27 characters
    [InlineData("01JABCDEFGHJKMNPQRSTVWXYZI")] // I is not Crockford base32
    [InlineData("01JABCDEFGHJKMNPQRSTVWXYZU")] // nor is U
    [InlineData("81JABCDEFGHJKMNPQRSTVWXYZ0")] // past the 48-bit time range
    [InlineData("01JABCDEFGHJKMNPQRSTVWXY-0")]
    [InlineData("01JABCDEFGHJKMNPQRSTVWXY 0")]
    public async Task SyncIdRoutes_WithMalformedSyncId_Return400(string syncId)
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());
        var id = Uri.EscapeDataString(syncId);

        foreach (var request in new Func<Task<HttpResponseMessage>>[]
                 {
                     () => client.GetAsync($"/api/v1/sync/{id}"),
                     () => client.PostAsync($"/api/v1/sync/{id}/cancel", null),
                     () => client.GetAsync($"/api/sync-progress/{id}"),
                 })
        {
            var problem = await ProblemAssert.AssertProblemAsync(await request(), HttpStatusCode.BadRequest);
            Assert.True(problem.GetProperty("errors").TryGetProperty("sync_id", out _), problem.ToString());
        }
    }

    [Fact]
    public async Task SyncIdRoutes_WithWellFormedUnknownSyncId_Return404()
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());

        await ProblemAssert.AssertProblemAsync(await client.GetAsync($"/api/v1/sync/{ValidSyncId}"), HttpStatusCode.NotFound);
        await ProblemAssert.AssertProblemAsync(await client.PostAsync($"/api/v1/sync/{ValidSyncId}/cancel", null), HttpStatusCode.NotFound);
        await ProblemAssert.AssertProblemAsync(await client.GetAsync($"/api/sync-progress/{ValidSyncId}"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=101")]
    [InlineData("limit=-1")]
    [InlineData("limit=abc")]
    [InlineData("limit=1.5")]
    [InlineData("limit=%2B5")]
    [InlineData("limit=")]
    [InlineData("limit=99999999999999999999")]
    [InlineData("page_token=%21%21%21")]
    [InlineData("page_token=not-base64-%C3%A9")]
    public async Task History_WithBadPaging_Returns400(string query)
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());

        var response = await client.GetAsync($"/api/v1/sync/history?{query}");

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        var field = query[..query.IndexOf('=', StringComparison.Ordinal)];
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task History_WithPageTokenFromPreviousPage_ReturnsTheNextPage()
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 0 });
        var first = await client.TriggerAsync();
        await client.WaitForEndAsync(first);
        var second = await client.TriggerAsync();
        await client.WaitForEndAsync(second);

        var page1 = await (await client.GetAsync("/api/v1/sync/history?limit=1")).JsonAsync();
        Assert.Equal([second], page1.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()));
        var token = page1.GetProperty("next_page_token").GetString();
        Assert.False(string.IsNullOrEmpty(token));

        var page2 = await (await client.GetAsync($"/api/v1/sync/history?limit=1&page_token={Uri.EscapeDataString(token!)}")).JsonAsync();
        Assert.Equal([first], page2.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Trigger_WithSeveralBadConnectors_NamesEachByItsIndexAndSaysWhy()
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 1 });

        var mistyped = await PostJsonAsync(client, "/api/v1/sync", "{\"connectors\": [\"demo\", 5, true]}");
        var badNames = await PostJsonAsync(client, "/api/v1/sync", "{\"connectors\": [\"demo\", \"Not-Valid\", \"a b\"]}");

        var errors = (await ProblemAssert.AssertProblemAsync(mistyped, HttpStatusCode.BadRequest)).GetProperty("errors");
        Assert.Equal(["connectors[1]", "connectors[2]"], errors.EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Equal("Expected a string, not a number.", errors.GetProperty("connectors[1]")[0].GetString());
        Assert.Equal("Expected a string, not a boolean.", errors.GetProperty("connectors[2]")[0].GetString());
        var names = (await ProblemAssert.AssertProblemAsync(badNames, HttpStatusCode.BadRequest)).GetProperty("errors");
        Assert.Equal(["connectors[1]", "connectors[2]"], names.EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));
        await AssertNoSyncAsync(client, tenant);
    }

    [Fact]
    public async Task PutConnection_WithSeveralBadFields_NamesEachAndWhy()
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);

        var response = await PutJsonAsync(client, "/api/v1/connections/demo", "{\"settings\": [], \"secrets\": {\"token\": 42}, \"extra\": 1}");

        var errors = (await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("errors");
        Assert.Equal(["extra", "secrets.token", "settings"], errors.EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Equal("Expected a string, not a number.", errors.GetProperty("secrets.token")[0].GetString());
        Assert.Contains("an object", errors.GetProperty("settings")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("Unknown property", errors.GetProperty("extra")[0].GetString(), StringComparison.Ordinal);
        await AssertNoRawConnectionRowAsync(tenant);
    }

    [Theory]
    [InlineData("{\"connectors\": [\"demo\"", "body")]
    [InlineData("[\"demo\"]", "body")]
    [InlineData("{\"Connectors\": [\"demo\"]}", "Connectors")] // names are matched as the document spells them
    public async Task Trigger_WithBodyOfTheWrongShape_NamesWhere(string body, string field)
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 1 });

        var problem = await ProblemAssert.AssertProblemAsync(await PostJsonAsync(client, "/api/v1/sync", body), HttpStatusCode.BadRequest);

        Assert.Equal([field], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        await AssertNoSyncAsync(client, tenant);
    }

    [Fact]
    public async Task DevToken_WithUnknownPropertyOrBadRoles_NamesEach()
    {
        using var client = App.CreateClient();

        var response = await PostJsonAsync(client, "/api/dev/token", "{\"tenant_id\": \"t1\", \"tenant\": \"t2\", \"roles\": [\"sync.admin\", \"\"]}");
        var roles = await PostJsonAsync(client, "/api/dev/token", "{\"tenant_id\": \"t1\", \"roles\": [\"sync.admin\", \"\"]}");

        var errors = (await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("errors");
        Assert.True(errors.TryGetProperty("tenant", out _), errors.ToString());
        var roleErrors = (await ProblemAssert.AssertProblemAsync(roles, HttpStatusCode.BadRequest)).GetProperty("errors");
        Assert.Equal(["roles[1]"], roleErrors.EnumerateObject().Select(e => e.Name));
    }

    [Theory]
    [InlineData("sync_id=")]
    [InlineData("sync_id=abc")]
    [InlineData("sync_id=01JABCDEFGHJKMNPQRSTVWXYZ")]
    public async Task Negotiate_WithEmptyOrMalformedSyncId_Returns400InsteadOfTheTenantsGroup(string query)
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());

        var response = await client.PostAsync($"/api/negotiate?{query}&negotiateVersion=1", null);

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("sync_id", out _), problem.ToString());
    }

    [Fact]
    public async Task Negotiate_WithoutToken_Returns401ProblemWithChallenge()
    {
        using var client = App.CreateClient();

        var response = await client.PostAsync("/api/negotiate?negotiateVersion=1", null);

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [InlineData("last_event_id=")]
    [InlineData("last_event_id=x")]
    public async Task Stream_WithEmptyOrMalformedLastEventIdQuery_Returns400(string query)
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());

        var response = await client.GetAsync($"/api/sync-progress/{ValidSyncId}/stream?{query}");

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("last_event_id", out _), problem.ToString());
    }

    /// <summary>
    /// A client's mistake is logged once, as a warning naming the path, the status and the fields, and
    /// never with an exception (what a console prints as a stack trace) or at error level.
    /// </summary>
    [Fact]
    public async Task ClientErrors_AreLoggedAsOneWarningLineEach_NeverAsAnErrorOrStackTrace()
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());
        var connector = "zz" + SyncApp.NewTenant("c")[2..].Replace("-", "", StringComparison.Ordinal);
        var path = $"/api/v1/connections/{connector}";
        var before = App.Logs.Entries.Count;

        await ProblemAssert.AssertProblemAsync(await PutJsonAsync(client, path, "{\"settings\": "), HttpStatusCode.BadRequest);
        await ProblemAssert.AssertProblemAsync(await PutJsonAsync(client, path, "{\"settings\": 5, \"secrets\": [1]}"), HttpStatusCode.BadRequest);
        await ProblemAssert.AssertProblemAsync(await client.DeleteAsync(path), HttpStatusCode.NotFound);
        using var anonymous = App.CreateClient();
        await ProblemAssert.AssertProblemAsync(await anonymous.DeleteAsync(path), HttpStatusCode.Unauthorized);

        var lines = App.Logs.Entries.Skip(before).Where(e => e.Message.Contains(path, StringComparison.Ordinal)).ToList();
        Assert.Equal(4, lines.Count);
        Assert.All(lines, l => Assert.Equal(LogLevel.Warning, l.Level));
        Assert.All(lines, l => Assert.Null(l.Exception));
        Assert.Equal(
            [$"PUT {path} answered 400: invalid body", $"PUT {path} answered 400: invalid settings, secrets", $"DELETE {path} answered 404: Connection not found", $"DELETE {path} answered 401: Unauthorized"],
            lines.Select(l => l.Message));
        Assert.DoesNotContain(App.Logs.Entries.Skip(before), e => e.Exception is JsonException or Microsoft.AspNetCore.Http.BadHttpRequestException);
    }

    private static async Task<HttpResponseMessage> PostJsonAsync(HttpClient client, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        return await client.PostAsync(path, content);
    }

    private static async Task<HttpResponseMessage> PutJsonAsync(HttpClient client, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        return await client.PutAsync(path, content);
    }

    /// <summary>
    /// An encoded character in a path segment still matches the route (Kestrel decodes the segment but
    /// keeps %2F encoded), so the endpoint's own validation answers: exactly 400.
    /// </summary>
    private static Task<JsonElement> AssertRejectedPathAsync(HttpResponseMessage response) => ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);

    private static async Task AssertNoConnectionsAsync(HttpClient client)
    {
        var response = await client.GetAsync("/api/v1/connections");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty((await response.JsonAsync()).GetProperty("connections").EnumerateArray());
    }

    private async Task AssertNoSyncAsync(HttpClient client, string tenant)
    {
        var status = await (await client.GetAsync("/api/v1/sync/status")).JsonAsync();
        Assert.Equal(JsonValueKind.Null, status.GetProperty("latest_sync").ValueKind);
        var history = await (await client.GetAsync("/api/v1/sync/history")).JsonAsync();
        Assert.Empty(history.GetProperty("items").EnumerateArray());
        Assert.Null(await App.LockOfAsync(tenant));
    }

    /// <summary>Reads the connections table itself: no row under the tenant, whatever its key looks like.</summary>
    private async Task AssertNoRawConnectionRowAsync(string partition)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in App.Storage.Connections.QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"]))
        {
            rows.Add(row);
        }

        Assert.DoesNotContain(rows, r => r.PartitionKey == partition);
    }
}
