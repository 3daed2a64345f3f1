using System.Text.Json;
using SyncFunctions.Tests.Connectors.Fakes;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Connectors.Slack;

/// <summary>The Slack connector through the real engine (trigger → queue → worker → stages) against a fake Web API.</summary>
public sealed class SlackConnectorTests(ConnectorAppFixture fixture) : IClassFixture<ConnectorAppFixture>, IAsyncLifetime
{
    private readonly SyncApp _app = fixture.App;
    private FakeSlack _slack = null!;
    private HttpClient _client = null!;
    private string _tenant = null!;

    public async Task InitializeAsync()
    {
        _slack = await FakeSlack.StartAsync();
        _tenant = SyncApp.NewTenant("slack");
        _client = await _app.ClientForAsync(_tenant);
        await _client.PutConnectionAsync("slack", new { base_url = _slack.BaseUrl.ToString() }, new { bot_token = FakeSlack.BotToken });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _slack.DisposeAsync();
    }

    [Fact]
    public async Task Sync_FirstThenAgain_SyncsMemberChannelsWithThreadsThenOnlyNewMessages()
    {
        var general = _slack.AddChannel("general");
        var random = _slack.AddChannel("random");
        _slack.AddChannel("not-joined", member: false);
        var question = _slack.Post(general, "Where is the roadmap?");
        _slack.Reply(general, question, "In the wiki.");
        _slack.Post(random, "Lunch at noon");

        var first = await _client.SyncAsync("slack");

        Assert.Equal("completed", first.Status());
        Assert.Equal(2, first.Connector().Int("total_items"));
        Assert.Equal(2, first.Int("files_processed"));
        var documents = await ConnectorTestKit.DocumentsAsync(_app, _tenant, "slack", first.GetProperty("id").GetString()!);
        var generalText = documents.Single(d => d.GetProperty("metadata").GetProperty("channel").GetString() == "general").GetProperty("text").GetString()!;
        Assert.Contains("Where is the roadmap?", generalText, StringComparison.Ordinal);
        Assert.Contains("In the wiki.", generalText, StringComparison.Ordinal);
        Assert.DoesNotContain(documents, d => d.GetProperty("metadata").GetProperty("channel").GetString() == "not-joined");

        _slack.Post(general, "Roadmap moved to the handbook");
        var second = await _client.SyncAsync("slack");

        Assert.Equal("completed", second.Status());
        Assert.Equal(1, second.Connector().Int("total_items"));
        var incremental = Assert.Single(await ConnectorTestKit.DocumentsAsync(_app, _tenant, "slack", second.GetProperty("id").GetString()!));
        Assert.Equal("Roadmap moved to the handbook", incremental.GetProperty("text").GetString()!.Split(": ", 2)[1].TrimEnd('\n'));
        // The incremental history call asked only for what is newer than the checkpoint.
        Assert.Contains(_slack.Api.Requests, r => r.Path.EndsWith("/conversations.history", StringComparison.Ordinal)
            && r.Query.Contains($"channel={general}", StringComparison.Ordinal) && r.Query.Contains($"oldest={question}", StringComparison.Ordinal));

        var third = await _client.SyncAsync("slack");
        Assert.Equal("completed", third.Status());
        Assert.Equal(0, third.Connector().Int("total_items"));
        await ConnectorTestKit.AssertSecretsNeverShownAsync(_app, _client, third.GetProperty("id").GetString()!, FakeSlack.BotToken);
    }

    [Fact]
    public async Task Sync_WhenRateLimitedAndServerErrors_WaitsRetryAfterRetriesAndCompletes()
    {
        var general = _slack.AddChannel("general");
        _slack.Post(general, "hello");
        _slack.Api.Faults.Add(FaultKind.RateLimited, "/conversations.history", times: 2);
        _slack.Api.Faults.Add(FaultKind.ServerError, "/conversations.list", times: 2);
        var started = DateTime.UtcNow;

        var sync = await _client.SyncAsync("slack");

        Assert.Equal("completed", sync.Status());
        Assert.Equal(1, sync.Int("files_processed"));
        Assert.Equal(3, _slack.Api.Count("/conversations.list"));
        Assert.Equal(3, _slack.Api.Count("/conversations.history"));
        // Two Retry-After: 1 waits were honoured, not cut short by the backoff's own small delay.
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(2), "the connector should wait as long as Retry-After says");
        Assert.Contains(_app.Logs.Lines, l => l.Contains("/api/conversations.history answered 429", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sync_WhenARequestHangs_CutsItAtTheRequestTimeoutShowsTheChannelAndCompletes()
    {
        var general = _slack.AddChannel("general");
        var thread = _slack.Post(general, "thread");
        _slack.Reply(general, thread, "reply");
        _slack.Api.Faults.Add(FaultKind.Hang, "/conversations.replies");

        var syncId = await _client.TriggerAsync("slack");
        await _client.WaitForCurrentItemAsync(syncId, "Channel: #general");
        var sync = await _client.WaitForEndAsync(syncId, TimeSpan.FromSeconds(60));

        Assert.Equal("completed", sync.Status());
        Assert.Equal(1, sync.Int("files_processed"));
        Assert.Equal(2, _slack.Api.Count("/conversations.replies"));
        Assert.Contains(_app.Logs.Lines, l => l.Contains("/api/conversations.replies answered no answer within the request timeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sync_WithMoreChannelsThanTheCap_SyncsTheFirst200AndNotesIt()
    {
        for (var i = 0; i < 205; i++)
        {
            _slack.Post(_slack.AddChannel($"channel-{i:D3}"), $"message {i}");
        }

        var sync = await _client.SyncAsync("slack");

        Assert.Equal("completed", sync.Status());
        Assert.Equal(200, sync.Connector().Int("total_items"));
        Assert.Equal(200, sync.Int("files_processed"));
        var syncId = sync.GetProperty("id").GetString()!;
        Assert.Contains(_app.Logs.Lines, l => l.Contains(syncId, StringComparison.Ordinal) && l.Contains("more than 200 channels", StringComparison.Ordinal));
        Assert.Contains(sync.Connector().GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("more than 200 channels", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sync_WhenChannelPagesLoop_StopsListingAndCompletes()
    {
        _slack.Post(_slack.AddChannel("general"), "hi");
        _slack.EndlessChannelPages = true;

        var sync = await _client.SyncAsync("slack");

        Assert.Equal("completed", sync.Status());
        Assert.Equal(1, sync.Connector().Int("total_items"));
        Assert.Equal(2, _slack.Api.Count("/conversations.list"));
        Assert.Contains(_app.Logs.Lines, l => l.Contains(sync.GetProperty("id").GetString()!, StringComparison.Ordinal) && l.Contains("repeated a cursor", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sync_WhenOneChannelsThreadFails_CountsThatChannelRetriesItNextTimeAndCompletes()
    {
        var general = _slack.AddChannel("general");
        var random = _slack.AddChannel("random");
        _slack.Post(general, "fine");
        var thread = _slack.Post(random, "broken thread");
        _slack.Reply(random, thread, "reply");
        _slack.FailingThreadChannel = random;

        var first = await _client.SyncAsync("slack");

        Assert.Equal("completed", first.Status());
        Assert.Equal(1, first.Int("files_processed"));
        Assert.Equal(1, first.Int("files_failed"));
        Assert.Equal([("Channel: #random", "Slack answered 'thread_not_found' for a thread in #random.")], first.FailureSamples());

        _slack.FailingThreadChannel = null;
        var second = await _client.SyncAsync("slack");
        Assert.Equal(1, second.Int("files_processed"));
        var document = Assert.Single(await ConnectorTestKit.DocumentsAsync(_app, _tenant, "slack", second.GetProperty("id").GetString()!));
        Assert.Equal("random", document.GetProperty("metadata").GetProperty("channel").GetString());
    }

    [Fact]
    public async Task Sync_WithABadToken_FailsInitializingWithAPlainMessage()
    {
        const string wrong = "xoxb-wrong-secret-token-91c3";
        await _client.PutConnectionAsync("slack", new { base_url = _slack.BaseUrl.ToString() }, new { bot_token = wrong });

        var sync = await _client.SyncAsync("slack");

        Assert.Equal("failed", sync.Status());
        Assert.Equal("connector_error", sync.GetProperty("failure_reason").GetString());
        Assert.Equal("initializing", sync.Connector().GetProperty("stage").GetString());
        Assert.Equal("Slack rejected the bot token (invalid_auth). Install the app again or paste a new bot token.", sync.GetProperty("error_message").GetString());
        await ConnectorTestKit.AssertSecretsNeverShownAsync(_app, _client, sync.GetProperty("id").GetString()!, wrong);
    }

    [Fact]
    public async Task FakeSlack_Responses_MatchSlacksOfficialShapes()
    {
        var general = _slack.AddChannel("general");
        var thread = _slack.Post(general, "question");
        _slack.Reply(general, thread, "answer");
        await _client.SyncAsync("slack");

        var checkedPaths = 0;
        foreach (var (method, relax) in new[] { ("/auth.test", false), ("/conversations.list", false), ("/conversations.history", true), ("/conversations.replies", true) })
        {
            var schema = await ApiShapes.SwaggerResponseAsync("slack.json", method, "get", relaxRoot: relax);
            // The published history schema demands at least one message; a sample with messages is checked.
            var responses = _slack.Api.Responses.Where(r => r.Path == "/api" + method && !r.Body.Contains("\"messages\":[]", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(responses);
            foreach (var response in responses)
            {
                Assert.Empty(ApiShapes.Errors(schema, response.Body));
                checkedPaths++;
            }
        }

        var error = await ApiShapes.SwaggerResponseAsync("slack.json", "/conversations.history", "get", "default");
        Assert.Empty(ApiShapes.Errors(error, JsonSerializer.Serialize(new { ok = false, error = "channel_not_found" })));
        Assert.NotEmpty(ApiShapes.Errors(error, JsonSerializer.Serialize(new { ok = false, error = "not_a_documented_error" })));
        Assert.True(checkedPaths >= 4);
    }
}
