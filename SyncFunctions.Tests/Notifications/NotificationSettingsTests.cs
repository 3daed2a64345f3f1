using System.Net;
using System.Net.Http.Json;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Notifications;

/// <summary>GET/PUT /api/v1/notifications: a tenant's own list, validated, independent of its connections.</summary>
public sealed class NotificationSettingsTests(SharedSyncApp fixture) : IClassFixture<SharedSyncApp>
{
    private static readonly string[] Messy = [" a@x.example ", "b@y.example", "A@X.example"];

    private SyncApp App => fixture.App;

    [Fact]
    public async Task Get_WhenNeverSet_ReturnsEnabledWithAnEmptyList()
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());

        var body = await (await client.GetAsync("/api/v1/notifications")).JsonAsync();

        Assert.True(body.GetProperty("enabled").GetBoolean());
        Assert.Empty(body.GetProperty("recipients").EnumerateArray());
        Assert.False(body.GetProperty("transport_configured").GetBoolean()); // this app has no SMTP or ACS settings
    }

    [Fact]
    public async Task Put_WithValidAddresses_StoresThemTrimmedOnceEachForThisTenantOnly()
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());
        using var other = await App.ClientForAsync(SyncApp.NewTenant());

        var put = await client.PutAsJsonAsync("/api/v1/notifications", new { enabled = false, recipients = Messy });

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var body = await (await client.GetAsync("/api/v1/notifications")).JsonAsync();
        Assert.False(body.GetProperty("enabled").GetBoolean());
        Assert.Equal(["a@x.example", "b@y.example"], body.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()));
        Assert.NotEqual(System.Text.Json.JsonValueKind.Null, body.GetProperty("updated_at").ValueKind);
        var theirs = await (await other.GetAsync("/api/v1/notifications")).JsonAsync();
        Assert.Empty(theirs.GetProperty("recipients").EnumerateArray());
    }

    [Theory]
    [InlineData("not-an-address")]
    [InlineData("Someone <a@x.example>")]
    [InlineData("a@x.example, b@y.example")]
    [InlineData("a@localhost")]
    [InlineData("")]
    public async Task Put_WithAnInvalidAddress_AnswersValidationProblemNamingIt(string address)
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());

        var response = await client.PutAsJsonAsync("/api/v1/notifications", new { enabled = true, recipients = new[] { "ok@x.example", address } });

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("recipients[1]", out _), problem.ToString());
    }

    [Fact]
    public async Task Put_WithMoreThanTwentyRecipients_AnswersValidationProblem()
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());
        var many = Enumerable.Range(0, 21).Select(i => $"user{i}@x.example").ToArray();

        var response = await client.PutAsJsonAsync("/api/v1/notifications", new { enabled = true, recipients = many });

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("At most 20", problem.GetProperty("errors").GetProperty("recipients")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_WithoutEnabledOrWithUnknownFields_AnswersBadRequest()
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());

        var missing = await client.PutAsJsonAsync("/api/v1/notifications", new { recipients = Array.Empty<string>() });
        var unknown = await client.PutAsJsonAsync("/api/v1/notifications", new { enabled = true, recipients = Array.Empty<string>(), cc = "x@y.example" });

        var problem = await ProblemAssert.AssertProblemAsync(missing, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("enabled", out _));
        await ProblemAssert.AssertProblemAsync(unknown, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Get_WithoutAToken_AnswersUnauthorized()
    {
        using var anonymous = App.CreateClient();

        var response = await anonymous.GetAsync("/api/v1/notifications");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
