using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SyncFunctions.Security;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Security;

/// <summary>
/// POST /api/dev/token: a working token for a caller on this machine, nothing for a relayed one,
/// 400 for a bad tenant id; and the API accepts only tokens signed with the app's key.
/// </summary>
public sealed class DevTokenEndpointTests(SharedSyncApp fixture) : IClassFixture<SharedSyncApp>
{
    private SyncApp App => fixture.App;

    public static TheoryData<string?> InvalidTenantIds => new()
    {
        null,
        "",
        "a/b",
        "a\\b",
        "a#b",
        "a?b",
        "a\u0001b",
        "a\nb",
        "a b",
        "-leading-dash",
        "~sweeper",
        new string('a', 65),
        new string('a', 1024),
    };

    [Fact]
    public async Task Issue_FromLoopback_ReturnsATokenTheApiAccepts()
    {
        using var client = App.CreateClient();

        var response = await client.PostAsJsonAsync("/api/dev/token", new { tenant_id = SyncApp.NewTenant(), email = "dev@example.com" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var issued = await response.JsonAsync();
        Assert.Equal("Bearer", issued.GetProperty("token_type").GetString());
        Assert.Equal(8 * 3600, issued.GetProperty("expires_in").GetInt32());
        var token = issued.GetProperty("access_token").GetString();
        Assert.False(string.IsNullOrEmpty(token));

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/sync/status")).StatusCode);
    }

    [Theory]
    [InlineData("X-Forwarded-For", "203.0.113.7")]
    [InlineData("X-Forwarded-For", "127.0.0.1")]
    [InlineData("Forwarded", "for=203.0.113.7")]
    public async Task Issue_ThroughAProxy_Returns404AndNoToken(string header, string value)
    {
        using var client = App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/dev/token")
        {
            Content = JsonContent.Create(new { tenant_id = SyncApp.NewTenant() }),
        };
        request.Headers.TryAddWithoutValidation(header, value);

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("access_token", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(InvalidTenantIds))]
    public async Task Issue_WithInvalidTenantId_Returns400(string? tenantId)
    {
        using var client = App.CreateClient();

        var response = await client.PostAsJsonAsync("/api/dev/token", new { tenant_id = tenantId });

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("tenant_id", out _), problem.ToString());
    }

    [Theory]
    [InlineData("{\"tenant_id\": \"t1\", \"email\": \"no-at-sign\"}", "email")]
    [InlineData("{\"tenant_id\": \"t1\", \"email\": \"a@b\\u0000\"}", "email")]
    [InlineData("{\"tenant_id\": \"t1\", \"roles\": [\"\"]}", "roles[0]")]
    [InlineData("{\"tenant_id\": \"t1\", \"roles\": [null]}", "roles[0]")]
    [InlineData("{\"tenant_id\": \"t1\", \"roles\": [\"sync.admin\\u0001\"]}", "roles[0]")]
    public async Task Issue_WithInvalidEmailOrRoles_Returns400NamingTheField(string body, string field)
    {
        using var client = App.CreateClient();

        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await client.PostAsync("/api/dev/token", content);

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Theory]
    [InlineData("{")]
    [InlineData("not json")]
    [InlineData("{\"tenant_id\": 42}")]
    [InlineData("{\"tenant_id\": \"t1\", \"roles\": \"sync.admin\"}")]
    public async Task Issue_WithMalformedJson_Returns400(string body)
    {
        using var client = App.CreateClient();

        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await client.PostAsync("/api/dev/token", content);

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Token_SignedWithAnotherKey_Returns401()
    {
        var tenant = SyncApp.NewTenant();
        using var client = App.CreateClient();

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Sign("another-signing-key-0123456789-abcdefghijkl", TimeProvider.System, tenant));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/sync/status")).StatusCode);

        // The same token signed with the app's key is accepted: only the key was wrong.
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Sign(SyncApp.SigningKey, TimeProvider.System, tenant));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/sync/status")).StatusCode);
    }

    [Fact]
    public async Task Token_PastItsLifetime_Returns401()
    {
        var issuedLongAgo = new FakeTimeProvider(DateTimeOffset.UtcNow - DevTokenIssuer.Lifetime - TimeSpan.FromMinutes(10));
        using var client = App.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Sign(SyncApp.SigningKey, issuedLongAgo, SyncApp.NewTenant()));

        var response = await client.GetAsync("/api/v1/sync/status");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("~sweeper")]
    public async Task Token_WithInvalidTenantClaim_Returns403(string tenantClaim)
    {
        // Signed with the right key but carrying a tenant the endpoint would never issue.
        using var client = App.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Sign(SyncApp.SigningKey, TimeProvider.System, tenantClaim));

        var response = await client.GetAsync("/api/v1/connections");

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.Forbidden);
    }

    private static string Sign(string key, TimeProvider time, string tenant) =>
        new DevTokenIssuer(Options.Create(new AuthOptions { DevSigningKey = key }), time).Issue(tenant, $"user@{tenant}.example", []);
}
