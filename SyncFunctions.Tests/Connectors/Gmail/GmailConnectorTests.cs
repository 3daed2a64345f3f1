using SyncFunctions.Tests.Connectors.Fakes;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Connectors.Gmail;

/// <summary>The Gmail connector (Google.Apis.Auth + REST) through the real engine against a fake Gmail API and token endpoint.</summary>
public sealed class GmailConnectorTests(ConnectorAppFixture fixture) : IClassFixture<ConnectorAppFixture>, IAsyncLifetime
{
    private readonly SyncApp _app = fixture.App;
    private FakeGmail _gmail = null!;
    private HttpClient _client = null!;
    private string _tenant = null!;

    public async Task InitializeAsync()
    {
        _gmail = await FakeGmail.StartAsync();
        _tenant = SyncApp.NewTenant("gmail");
        _client = await _app.ClientForAsync(_tenant);
        await PutConnectionAsync(FakeGmail.RefreshToken, query: null);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _gmail.DisposeAsync();
    }

    [Fact]
    public async Task Sync_FirstThenAgain_SyncsTheQuerysMessagesThenOnlyNewOnesFromHistory()
    {
        await PutConnectionAsync(FakeGmail.RefreshToken, query: "invoice");
        var invoice = _gmail.Receive("Invoice 42", "billing@example.test", "Please pay invoice 42.");
        _gmail.Receive("Lunch?", "friend@example.test", "Noon?");

        var first = await _client.SyncAsync("gmail");

        Assert.Equal("completed", first.Status());
        Assert.Equal(1, first.Connector().Int("total_items"));
        var document = Assert.Single(await ConnectorTestKit.DocumentsAsync(_app, _tenant, "gmail", first.GetProperty("id").GetString()!));
        Assert.Equal(invoice, document.GetProperty("id").GetString());
        Assert.Equal("Invoice 42", document.GetProperty("title").GetString());
        Assert.Equal("Please pay invoice 42.", document.GetProperty("text").GetString());
        Assert.Equal("billing@example.test", document.GetProperty("metadata").GetProperty("from").GetString());
        Assert.Equal("Mon, 6 Jan 2025 10:00:00 +0000", document.GetProperty("metadata").GetProperty("date").GetString());
        Assert.Equal("Please pay invoice 42.", document.GetProperty("metadata").GetProperty("snippet").GetString());

        var later = _gmail.Receive("Invoice 43", "billing@example.test", "And invoice 43.");
        var second = await _client.SyncAsync("gmail");

        Assert.Equal("completed", second.Status());
        Assert.Equal(1, second.Connector().Int("total_items"));
        Assert.Equal(later, Assert.Single(await ConnectorTestKit.DocumentsAsync(_app, _tenant, "gmail", second.GetProperty("id").GetString()!)).GetProperty("id").GetString());
        Assert.Equal(1, _gmail.Api.Count("/users/me/history"));
        Assert.Equal(1, _gmail.Api.Requests.Count(r => r.Path == "/gmail/v1/users/me/messages"));
        await ConnectorTestKit.AssertSecretsNeverShownAsync(_app, _client, second.GetProperty("id").GetString()!, FakeGmail.ClientSecret, FakeGmail.RefreshToken, "ya29.fake-access-");
    }

    [Fact]
    public async Task Sync_WhenTheHistoryPositionExpired_RunsAFullSyncAndNotesIt()
    {
        _gmail.Receive("One", "a@example.test", "first");
        await _client.SyncAsync("gmail");
        _gmail.Receive("Two", "a@example.test", "second");
        _gmail.HistoryExpiredBelow = long.MaxValue;

        var sync = await _client.SyncAsync("gmail");

        Assert.Equal("completed", sync.Status());
        Assert.Equal(2, sync.Connector().Int("total_items"));
        Assert.Equal(2, _gmail.Api.Requests.Count(r => r.Path == "/gmail/v1/users/me/messages"));
        Assert.Contains(_app.Logs.Lines, l => l.Contains(sync.GetProperty("id").GetString()!, StringComparison.Ordinal) && l.Contains("history position has expired", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sync_WhenTheAccessTokenExpires_RefreshesItOnceAndCompletes()
    {
        _gmail.Receive("One", "a@example.test", "first");
        _gmail.Api.Faults.Add(FaultKind.Unauthorized, "/users/me/messages");

        var sync = await _client.SyncAsync("gmail");

        Assert.Equal("completed", sync.Status());
        Assert.Equal(1, sync.Int("files_processed"));
        // One exchange per connect (the detection and the batch each connect afresh), plus the one refresh on the 401.
        Assert.Equal(3, _gmail.Api.Count("/token"));
    }

    [Fact]
    public async Task Sync_WithARevokedRefreshToken_FailsInitializingWithAPlainMessage()
    {
        const string revoked = "1//revoked-refresh-token-secret";
        await PutConnectionAsync(revoked, query: null);

        var sync = await _client.SyncAsync("gmail");

        Assert.Equal("failed", sync.Status());
        Assert.Equal("initializing", sync.Connector().GetProperty("stage").GetString());
        Assert.Equal("Google rejected the Gmail credentials (invalid_grant). Connect the account again to get a new refresh token.", sync.GetProperty("error_message").GetString());
        await ConnectorTestKit.AssertSecretsNeverShownAsync(_app, _client, sync.GetProperty("id").GetString()!, revoked, FakeGmail.ClientSecret);
    }

    [Fact]
    public async Task Sync_WhenRateLimitedAndServerErrors_RetriesAndCompletes()
    {
        _gmail.Receive("One", "a@example.test", "first");
        _gmail.Api.Faults.Add(FaultKind.RateLimited, "/users/me/messages", times: 1);
        _gmail.Api.Faults.Add(FaultKind.ServerError, "/users/me/profile", times: 2);

        var sync = await _client.SyncAsync("gmail");

        Assert.Equal("completed", sync.Status());
        // Detection's connect: two server errors and the answer; the batch's connect: one answer.
        Assert.Equal(4, _gmail.Api.Count("/users/me/profile"));
        Assert.Equal(2, _gmail.Api.Requests.Count(r => r.Path == "/gmail/v1/users/me/messages"));
    }

    [Fact]
    public async Task Sync_WhenAMessageRequestHangs_CutsItAtTheRequestTimeoutShowsTheEmailAndCompletes()
    {
        var id = _gmail.Receive("Quarterly report", "a@example.test", "numbers");
        _gmail.Api.Faults.Add(FaultKind.Hang, $"/messages/{id}?format=full");

        var syncId = await _client.TriggerAsync("gmail");
        await _client.WaitForCurrentItemAsync(syncId, "Email: Quarterly report");
        var sync = await _client.WaitForEndAsync(syncId, TimeSpan.FromSeconds(60));

        Assert.Equal("completed", sync.Status());
        Assert.Equal(1, sync.Int("files_processed"));
        Assert.Equal(2, _gmail.Api.Requests.Count(r => r.Path.EndsWith(id, StringComparison.Ordinal) && r.Query.Contains("format=full", StringComparison.Ordinal)));
        Assert.Contains(_app.Logs.Lines, l => l.Contains($"/messages/{id} answered no answer within the request timeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sync_WhenOneMessageFails_CountsItAndRetriesItNextSync()
    {
        _gmail.Receive("Fine", "a@example.test", "fine");
        var broken = _gmail.Receive("Broken", "a@example.test", "broken");
        _gmail.FailingMessage = broken;

        var first = await _client.SyncAsync("gmail");

        Assert.Equal("completed", first.Status());
        Assert.Equal(1, first.Int("files_failed"));
        Assert.Equal([("Email: Broken", $"Gmail answered 400 (FAILED_PRECONDITION) when asked to read message {broken}.")], first.FailureSamples());

        _gmail.FailingMessage = null;
        var second = await _client.SyncAsync("gmail");
        Assert.Equal(broken, Assert.Single(await ConnectorTestKit.DocumentsAsync(_app, _tenant, "gmail", second.GetProperty("id").GetString()!)).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Sync_WhenPagesNeverEnd_StopsAt100PagesAndNotesIt()
    {
        _gmail.Receive("One", "a@example.test", "first");
        _gmail.EndlessPages = true;

        var sync = await _client.SyncAsync("gmail");

        Assert.Equal("completed", sync.Status());
        Assert.Equal(1, sync.Connector().Int("total_items"));
        Assert.Equal(100, _gmail.Api.Requests.Count(r => r.Path == "/gmail/v1/users/me/messages"));
        Assert.Contains(_app.Logs.Lines, l => l.Contains(sync.GetProperty("id").GetString()!, StringComparison.Ordinal) && l.Contains("cap of 100 pages", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FakeGmail_Responses_MatchGmailsOfficialShapes()
    {
        _gmail.Receive("One", "a@example.test", "first");
        await _client.SyncAsync("gmail");
        _gmail.Receive("Two", "a@example.test", "second");
        await _client.SyncAsync("gmail");

        (string Schema, Func<FakeResponse, bool> Which)[] samples =
        [
            ("Profile", r => r.Path.EndsWith("/profile", StringComparison.Ordinal)),
            ("ListMessagesResponse", r => r.Path == "/gmail/v1/users/me/messages"),
            ("Message", r => r.Path.StartsWith("/gmail/v1/users/me/messages/", StringComparison.Ordinal)),
            ("ListHistoryResponse", r => r.Path.EndsWith("/history", StringComparison.Ordinal)),
        ];
        foreach (var (name, which) in samples)
        {
            var schema = await ApiShapes.DiscoverySchemaAsync("gmail.json", name);
            var responses = _gmail.Api.Responses.Where(r => r.Status == 200 && which(r)).ToList();
            Assert.NotEmpty(responses);
            Assert.All(responses, r => Assert.Empty(ApiShapes.Errors(schema, r.Body)));
        }

        var message = await ApiShapes.DiscoverySchemaAsync("gmail.json", "Message");
        Assert.NotEmpty(ApiShapes.Errors(message, "{\"id\": 7, \"labelIds\": \"INBOX\"}"));
    }

    private Task PutConnectionAsync(string refreshToken, string? query) =>
        _client.PutConnectionAsync(
            "gmail",
            query is null
                ? new { base_url = _gmail.Api.BaseAddress.ToString(), token_url = _gmail.TokenUrl.ToString() }
                : (object)new { base_url = _gmail.Api.BaseAddress.ToString(), token_url = _gmail.TokenUrl.ToString(), query },
            new { client_id = FakeGmail.ClientId, client_secret = FakeGmail.ClientSecret, refresh_token = refreshToken });
}
