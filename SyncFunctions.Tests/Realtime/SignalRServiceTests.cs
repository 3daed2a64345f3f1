using System.IdentityModel.Tokens.Jwt;
using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Microsoft.IdentityModel.Tokens;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Realtime;

public sealed class SignalRServiceTests
{
    private const string AccessKey = "test-access-key-0123456789abcdefghijklmnopqrstuvwxyz";

    private sealed class StaticCredential : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            requestContext.Scopes.SequenceEqual(["https://signalr.azure.com/.default"])
                ? new AccessToken("entra-token-for-signalr", DateTimeOffset.UtcNow.AddHours(1))
                : throw new InvalidOperationException("unexpected scope " + string.Join(",", requestContext.Scopes));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }

    private static Task<SyncApp> StartWithServiceAsync(FakeSignalRService service, bool accessKey = false) =>
        SyncApp.StartAsync(
            accessKey
                ? new Dictionary<string, string?> { ["AZURE_SIGNALR_CONNECTION_STRING"] = $"Endpoint={service.Endpoint.ToString().TrimEnd('/')};AccessKey={AccessKey};Version=1.0;" }
                : new Dictionary<string, string?> { ["AZURE_SIGNALR_ENDPOINT"] = service.Endpoint.ToString() },
            services: s => s.AddSingleton<TokenCredential>(new StaticCredential()));

    [Fact]
    public async Task Publish_WithTheServiceConfigured_SendsEveryEventToTheTenantAndSyncGroupsWithAnEntraToken()
    {
        await using var service = await FakeSignalRService.StartAsync();
        await using var app = await StartWithServiceAsync(service);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 20 });

        var syncId = await client.TriggerAsync();
        await client.WaitForEndAsync(syncId);
        await Eventually.MatchAsync(() => Task.FromResult(service.Requests.Count(r => r.Body.Contains("\"complete\"", StringComparison.Ordinal))), n => n == 2, "complete sent to both groups");

        var sends = service.Requests.Where(r => r.Path.EndsWith("/:send", StringComparison.Ordinal)).ToList();
        Assert.All(sends, r =>
        {
            Assert.Equal("POST", r.Method);
            Assert.Equal("2024-12-01", r.Query["api-version"]);
            Assert.Equal("Bearer entra-token-for-signalr", r.Authorization);
        });
        foreach (var group in new[] { $"tenant.{tenant}", $"sync.{tenant}.{syncId}" })
        {
            var toGroup = sends.Where(r => r.Path == $"/api/hubs/sync/groups/{group}/:send").Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
            Assert.Equal("started", toGroup[0].GetProperty("target").GetString());
            Assert.Equal("complete", toGroup[^1].GetProperty("target").GetString());
            Assert.Single(toGroup, b => b.GetProperty("target").GetString() is "complete" or "error");
            Assert.All(toGroup, b =>
            {
                var argument = Assert.Single(b.GetProperty("arguments").EnumerateArray());
                Assert.Equal(syncId, argument.GetProperty("sync_id").GetString());
                Assert.True(argument.TryGetProperty("percent_complete", out _));
            });
        }
    }

    [Fact]
    public async Task Negotiate_WithTheServiceConfigured_RedirectsTheClientWithAServiceTokenForItsOwnTenantGroup()
    {
        await using var service = await FakeSignalRService.StartAsync();
        await using var app = await StartWithServiceAsync(service);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);

        var response = await client.PostAsync("/api/negotiate?negotiateVersion=1", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal($"{service.Endpoint.ToString().TrimEnd('/')}/client/?hub=sync", body.GetProperty("url").GetString());
        Assert.Equal("service-issued-client-token", body.GetProperty("access_token").GetString());
        var join = Assert.Single(service.Requests, r => r.Method == "PUT");
        Assert.StartsWith($"/api/hubs/sync/groups/tenant.{tenant}/users/{tenant}.", join.Path, StringComparison.Ordinal);
        Assert.Equal("3600", join.Query["ttl"]);
        var userId = join.Path.Split('/')[^1];
        var token = Assert.Single(service.Requests, r => r.Path == "/api/hubs/sync/:generateToken");
        Assert.Equal(userId, token.Query["userId"]);
        Assert.Equal("Bearer entra-token-for-signalr", token.Authorization);
    }

    [Fact]
    public async Task Negotiate_ForAnotherTenantsSync_OnlyEverJoinsTheCallersTenant()
    {
        await using var service = await FakeSignalRService.StartAsync();
        await using var app = await StartWithServiceAsync(service);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        var someSync = SyncFunctions.Progress.SyncId.New(DateTimeOffset.UtcNow);

        await client.PostAsync($"/api/negotiate?sync_id={someSync}", null);
        var asAdminOfOther = await client.PostAsync($"/api/negotiate?tenant_id={SyncApp.NewTenant()}", null);

        Assert.Equal(HttpStatusCode.Forbidden, asAdminOfOther.StatusCode);
        var join = Assert.Single(service.Requests, r => r.Method == "PUT");
        Assert.StartsWith($"/api/hubs/sync/groups/sync.{tenant}.{someSync}/users/{tenant}.", join.Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Negotiate_WithAnAccessKey_SignsTheClientTokenAndTheRestCallsWithIt()
    {
        await using var service = await FakeSignalRService.StartAsync();
        await using var app = await StartWithServiceAsync(service, accessKey: true);
        using var client = await app.ClientForAsync(SyncApp.NewTenant());

        var body = await (await client.PostAsync("/api/negotiate", null)).JsonAsync();

        var clientUrl = body.GetProperty("url").GetString()!;
        var clientToken = Validate(body.GetProperty("access_token").GetString()!, clientUrl);
        Assert.StartsWith(clientToken.Claims.First(c => c.Type == "nameid").Value, service.Requests.Single(r => r.Method == "PUT").Path.Split('/')[^1], StringComparison.Ordinal);
        var join = service.Requests.Single(r => r.Method == "PUT");
        Validate(join.Authorization!["Bearer ".Length..], $"{service.Endpoint.ToString().TrimEnd('/')}{join.Path}");
        Assert.DoesNotContain(service.Requests, r => r.Path.EndsWith("/:generateToken", StringComparison.Ordinal));
    }

    private static JwtSecurityToken Validate(string token, string audience)
    {
        new JwtSecurityTokenHandler().ValidateToken(token, new TokenValidationParameters
        {
            ValidateIssuer = false,
            ValidAudience = audience,
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(AccessKey)),
        }, out var validated);
        return (JwtSecurityToken)validated;
    }
}
