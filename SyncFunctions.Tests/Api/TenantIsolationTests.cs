using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Api;

/// <summary>
/// A caller sees and touches only its own tenant, on every route; only <c>sync.admin</c> may name
/// another with <c>?tenant_id=</c>; nobody without a token gets past authentication.
/// </summary>
public sealed class TenantIsolationTests(SharedSyncApp fixture) : IClassFixture<SharedSyncApp>
{
    private const string Admin = "sync.admin";
    private const string SyncIdPlaceholder = "{id}";
    private const string AnySyncId = "01JABCDEFGHJKMNPQRSTVWXYZ0";

    private SyncApp App => fixture.App;

    /// <summary>Every route but health and the dev token, as "METHOD path"; {id} stands for a sync id.</summary>
    public static TheoryData<string> TenantRoutes => new()
    {
        "POST /api/v1/sync",
        "GET /api/v1/sync/status",
        "GET /api/v1/sync/history",
        "POST /api/v1/sync/cleanup",
        "GET /api/v1/sync/{id}",
        "POST /api/v1/sync/{id}/cancel",
        "POST /api/integrations/demo/sync",
        "GET /api/sync-progress/{id}",
        "GET /api/v1/connections",
        "PUT /api/v1/connections/demo",
        "DELETE /api/v1/connections/demo",
    };

    [Fact]
    public async Task OtherTenant_AddressingASyncById_Gets404()
    {
        var (_, owner, syncId) = await TenantWithEndedSyncAsync();
        using var ownerClient = owner;
        using var other = await App.ClientForAsync(SyncApp.NewTenant("other"));

        await ProblemAssert.AssertProblemAsync(await other.GetAsync($"/api/v1/sync/{syncId}"), HttpStatusCode.NotFound);
        await ProblemAssert.AssertProblemAsync(await other.PostAsync($"/api/v1/sync/{syncId}/cancel", null), HttpStatusCode.NotFound);
        await ProblemAssert.AssertProblemAsync(await other.GetAsync($"/api/sync-progress/{syncId}"), HttpStatusCode.NotFound);

        // The same requests from the owner find it (the 404s above are not a broken route).
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"/api/v1/sync/{syncId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"/api/sync-progress/{syncId}")).StatusCode);
        await ProblemAssert.AssertProblemAsync(await owner.PostAsync($"/api/v1/sync/{syncId}/cancel", null), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task OtherTenant_ListingStatusHistoryAndConnections_SeesNoneOfTheOwnersData()
    {
        var (_, owner, syncId) = await TenantWithEndedSyncAsync();
        using var ownerClient = owner;
        using var other = await App.ClientForAsync(SyncApp.NewTenant("other"));

        var status = await (await other.GetAsync("/api/v1/sync/status")).JsonAsync();
        Assert.Equal(JsonValueKind.Null, status.GetProperty("latest_sync").ValueKind);
        Assert.Equal(0, status.GetProperty("file_status").GetProperty("total").GetInt32());

        var history = await other.GetAsync("/api/v1/sync/history");
        Assert.Equal(HttpStatusCode.OK, history.StatusCode);
        Assert.Empty((await history.JsonAsync()).GetProperty("items").EnumerateArray());

        var connections = await other.GetAsync("/api/v1/connections");
        Assert.Equal(HttpStatusCode.OK, connections.StatusCode);
        Assert.Empty((await connections.JsonAsync()).GetProperty("connections").EnumerateArray());

        // The owner, asking the same, sees its own.
        var ownStatus = await (await owner.GetAsync("/api/v1/sync/status")).JsonAsync();
        Assert.Equal(syncId, ownStatus.GetProperty("latest_sync").GetProperty("id").GetString());
    }

    [Fact]
    public async Task OtherTenant_WritingTheSameConnector_ChangesOnlyItsOwnConnection()
    {
        var ownerTenant = SyncApp.NewTenant("owner");
        using var owner = await App.ClientForAsync(ownerTenant);
        await owner.PutConnectionAsync("demo", new { items = 5 });
        using var other = await App.ClientForAsync(SyncApp.NewTenant("other"));

        await ProblemAssert.AssertProblemAsync(await other.DeleteAsync("/api/v1/connections/demo"), HttpStatusCode.NotFound);
        await other.PutConnectionAsync("demo", new { items = 1 });
        Assert.Equal(HttpStatusCode.NoContent, (await other.DeleteAsync("/api/v1/connections/demo")).StatusCode);

        Assert.Equal(5, await DemoItemsAsync(owner));
    }

    [Theory]
    [MemberData(nameof(TenantRoutes))]
    public async Task NonAdmin_NamingAnotherTenant_Gets403AndChangesNothing(string route)
    {
        var (ownerTenant, owner, syncId) = await TenantWithEndedSyncAsync();
        using var ownerClient = owner;
        using var other = await App.ClientForAsync(SyncApp.NewTenant("other"));

        var response = await SendAsync(other, route, syncId, "?tenant_id=" + Uri.EscapeDataString(ownerTenant));

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.Forbidden);
        var status = await (await owner.GetAsync("/api/v1/sync/status")).JsonAsync();
        Assert.Equal(syncId, status.GetProperty("latest_sync").GetProperty("id").GetString());
        Assert.Equal("completed", status.GetProperty("latest_sync").GetProperty("status").GetString());
        Assert.Equal(5, await DemoItemsAsync(owner));
    }

    [Fact]
    public async Task Admin_NamingATenant_SeesThatTenantsData()
    {
        var (ownerTenant, owner, syncId) = await TenantWithEndedSyncAsync();
        using var ownerClient = owner;
        var query = "?tenant_id=" + ownerTenant;
        using var admin = await App.ClientForAsync(SyncApp.NewTenant("admin"), "ops@example.com", Admin);

        var sync = await admin.GetAsync($"/api/v1/sync/{syncId}{query}");
        Assert.Equal(HttpStatusCode.OK, sync.StatusCode);
        Assert.Equal(syncId, (await sync.JsonAsync()).GetProperty("id").GetString());

        var progress = await admin.GetAsync($"/api/sync-progress/{syncId}{query}");
        Assert.Equal(HttpStatusCode.OK, progress.StatusCode);
        Assert.Equal("complete", (await progress.JsonAsync()).GetProperty("status").GetString());

        var status = await (await admin.GetAsync($"/api/v1/sync/status{query}")).JsonAsync();
        Assert.Equal(syncId, status.GetProperty("latest_sync").GetProperty("id").GetString());

        var history = await (await admin.GetAsync($"/api/v1/sync/history{query}")).JsonAsync();
        Assert.Equal([syncId], history.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()));

        var connections = await (await admin.GetAsync($"/api/v1/connections{query}")).JsonAsync();
        Assert.Equal(["demo"], connections.GetProperty("connections").EnumerateArray().Select(c => c.GetProperty("connector").GetString()));

        // Without naming a tenant, the admin acts on its own, which has nothing.
        var own = await (await admin.GetAsync("/api/v1/sync/status")).JsonAsync();
        Assert.Equal(JsonValueKind.Null, own.GetProperty("latest_sync").ValueKind);
        await ProblemAssert.AssertProblemAsync(await admin.GetAsync($"/api/v1/sync/{syncId}"), HttpStatusCode.NotFound);
    }

    [Theory]
    [MemberData(nameof(TenantRoutes))]
    public async Task Request_WithoutToken_Gets401(string route)
    {
        using var anonymous = App.CreateClient();

        var response = await SendAsync(anonymous, route, AnySyncId, "");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(TenantRoutes))]
    public async Task Request_WithMalformedToken_Gets401(string route)
    {
        using var client = App.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "not.a.token");

        var response = await SendAsync(client, route, AnySyncId, "");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task Health_WithoutToken_Returns200(string path)
    {
        using var anonymous = App.CreateClient();

        var response = await anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task OtherTenant_CancellingAnActiveSync_Gets404AndLeavesItActive()
    {
        // The connector hangs: the sync stays running, so the refused cancel has something it could break.
        await using var app = await SyncApp.StartAsync();
        var ownerTenant = SyncApp.NewTenant("owner");
        using var owner = await app.ClientForAsync(ownerTenant);
        await owner.PutConnectionAsync("demo", new { items = 5, hang_after = 0 });
        var syncId = await owner.TriggerAsync();
        using var other = await app.ClientForAsync(SyncApp.NewTenant("other"));

        await ProblemAssert.AssertProblemAsync(await other.PostAsync($"/api/v1/sync/{syncId}/cancel", null), HttpStatusCode.NotFound);

        Assert.Equal("running", (await owner.GetSyncAsync(syncId)).GetProperty("status").GetString());
        Assert.NotNull(await app.LockOfAsync(ownerTenant));
        var cancelled = await owner.PostAsync($"/api/v1/sync/{syncId}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal("cancelled", (await cancelled.JsonAsync()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task OtherTenant_Cleanup_LeavesAnotherTenantsStuckSyncAlone()
    {
        // The owner's sync stopped heartbeating ten minutes ago, so any cleanup that reached it would fail it.
        await using var app = await SyncApp.StartAsync();
        var ownerTenant = SyncApp.NewTenant("owner");
        using var owner = await app.ClientForAsync(ownerTenant);
        var syncId = await app.LeaveAHolderAsync(ownerTenant, heartbeatAge: TimeSpan.FromMinutes(10));
        using var other = await app.ClientForAsync(SyncApp.NewTenant("other"));

        var response = await other.PostAsync("/api/v1/sync/cleanup", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cleanup = await response.JsonAsync();
        Assert.Equal(0, cleanup.GetProperty("cleaned").GetInt32());
        Assert.Empty(cleanup.GetProperty("sync_ids").EnumerateArray());
        Assert.Equal("running", (await owner.GetSyncAsync(syncId)).GetProperty("status").GetString());

        // The owner's own cleanup does reach it.
        var own = await (await owner.PostAsync("/api/v1/sync/cleanup", null)).JsonAsync();
        Assert.Equal([syncId], own.GetProperty("sync_ids").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("failed", (await owner.GetSyncAsync(syncId)).GetProperty("status").GetString());
    }

    /// <summary>A fresh tenant with a demo connection of 5 items and one completed sync.</summary>
    private async Task<(string Tenant, HttpClient Owner, string SyncId)> TenantWithEndedSyncAsync()
    {
        var tenant = SyncApp.NewTenant("owner");
        var owner = await App.ClientForAsync(tenant);
        await owner.PutConnectionAsync("demo", new { items = 5 });
        var syncId = await owner.TriggerAsync();
        var done = await owner.WaitForEndAsync(syncId);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        return (tenant, owner, syncId);
    }

    private static async Task<int> DemoItemsAsync(HttpClient client)
    {
        var list = await (await client.GetAsync("/api/v1/connections")).JsonAsync();
        var demo = Assert.Single(list.GetProperty("connections").EnumerateArray());
        return demo.GetProperty("settings").GetProperty("items").GetInt32();
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string route, string syncId, string query)
    {
        var (method, path) = (route[..route.IndexOf(' ', StringComparison.Ordinal)], route[(route.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
        var uri = path.Replace(SyncIdPlaceholder, syncId, StringComparison.Ordinal) + query;
        return method switch
        {
            "GET" => client.GetAsync(uri),
            "POST" => client.PostAsync(uri, null),
            "PUT" => client.PutAsJsonAsync(uri, new { settings = new { items = 1 } }),
            "DELETE" => client.DeleteAsync(uri),
            _ => throw new ArgumentOutOfRangeException(nameof(route), route, "Unknown method."),
        };
    }
}
