using Azure.Data.Tables;
using SyncFunctions.Connectors;
using SyncFunctions.Tests.Connectors.Fakes;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Connectors.Box;

/// <summary>The Box connector through the real engine against a fake Box API.</summary>
public sealed class BoxConnectorTests(ConnectorAppFixture fixture) : IClassFixture<ConnectorAppFixture>, IAsyncLifetime
{
    private readonly SyncApp _app = fixture.App;
    private FakeBox _box = null!;
    private HttpClient _client = null!;
    private string _tenant = null!;
    private string _docs = null!;

    public async Task InitializeAsync()
    {
        _box = await FakeBox.StartAsync();
        _docs = _box.AddFolder("0", "Docs");
        _tenant = SyncApp.NewTenant("box");
        _client = await _app.ClientForAsync(_tenant);
        await PutConnectionAsync(FakeBox.ClientSecret);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _box.DisposeAsync();
    }

    [Fact]
    public async Task Sync_FirstThenAgain_SyncsFilesRecursivelyThenOnlyChangesAndDeletions()
    {
        var a = _box.AddFile(_docs, "a.txt", "alpha");
        var notes = _box.AddFolder(_docs, "notes");
        var b = _box.AddFile(notes, "b.md", "# beta");
        _box.AddFile(_box.AddFolder(notes, "deep"), "c.png", "\u0089PNG");
        _box.AddFile("0", "outside.txt", "not below the folder");

        var first = await _client.SyncAsync("box");

        Assert.Equal("completed", first.Status());
        Assert.Equal(3, first.Connector().Int("total_items"));
        var documents = await ConnectorTestKit.DocumentsAsync(_app, _tenant, "box", first.GetProperty("id").GetString()!);
        Assert.Equal(["a.txt", "notes/b.md", "notes/deep/c.png"], documents.Select(d => d.GetProperty("title").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal("# beta", documents.Single(d => d.GetProperty("id").GetString() == b).GetProperty("text").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, documents.Single(d => d.GetProperty("title").GetString() == "notes/deep/c.png").GetProperty("text").ValueKind);

        _box.EditFile(b, "# beta, edited");
        _box.Delete(a);
        var second = await _client.SyncAsync("box");

        Assert.Equal("completed", second.Status());
        Assert.Equal(1, second.Connector().Int("total_items"));
        var changed = Assert.Single(await ConnectorTestKit.DocumentsAsync(_app, _tenant, "box", second.GetProperty("id").GetString()!));
        Assert.Equal("# beta, edited", changed.GetProperty("text").GetString());
        Assert.Equal(["notes/b.md", "notes/deep/c.png"], (await StatesAsync()).Order(StringComparer.Ordinal));
        await ConnectorTestKit.AssertSecretsNeverShownAsync(_app, _client, second.GetProperty("id").GetString()!, FakeBox.ClientSecret, FakeBox.ClientId, "box-access-");
    }

    [Fact]
    public async Task Sync_WhenTheAccessTokenExpires_RefreshesItOnceAndCompletes()
    {
        _box.AddFile(_docs, "a.txt", "alpha");
        _box.Api.Faults.Add(FaultKind.Unauthorized, "/items");

        var sync = await _client.SyncAsync("box");

        Assert.Equal("completed", sync.Status());
        Assert.Equal(1, sync.Int("files_processed"));
        // One exchange per connect (the detection and the batch each connect afresh), plus the one refresh on the 401.
        Assert.Equal(3, _box.Api.Count("/oauth2/token"));
        Assert.Equal(2, _box.Api.Count($"/folders/{_docs}/items"));
    }

    [Fact]
    public async Task Sync_WithARefreshToken_StoresTheRotatedTokenForTheNextSync()
    {
        const string original = "box-refresh-original-secret";
        _box.RefreshToken = original;
        _box.AddFile(_docs, "a.txt", "alpha");
        await _client.PutConnectionAsync("box", new { folder_id = _docs, base_url = _box.BaseUrl.ToString(), token_url = _box.TokenUrl.ToString() },
            new { client_id = FakeBox.ClientId, client_secret = FakeBox.ClientSecret, refresh_token = original });

        var first = await _client.SyncAsync("box");
        var rotated = _box.RefreshToken;
        var second = await _client.SyncAsync("box");

        Assert.Equal("completed", first.Status());
        Assert.Equal("completed", second.Status());
        Assert.NotEqual(original, rotated);
        Assert.Contains(_box.Api.Requests, r => r.Path == "/oauth2/token" && r.Body.Contains("refresh_token=" + rotated, StringComparison.Ordinal));
        await ConnectorTestKit.AssertSecretsNeverShownAsync(_app, _client, second.GetProperty("id").GetString()!, original, rotated!);
    }

    [Fact]
    public async Task Sync_WithAWrongClientSecret_FailsInitializingWithAPlainMessage()
    {
        const string wrong = "box-wrong-client-secret-123";
        await PutConnectionAsync(wrong);

        var sync = await _client.SyncAsync("box");

        Assert.Equal("failed", sync.Status());
        Assert.Equal("initializing", sync.Connector().GetProperty("stage").GetString());
        Assert.Equal(
            "Box rejected the app's credentials (invalid_client). Check the client id and secret, the subject, and that the app is authorized in the Box admin console.",
            sync.GetProperty("error_message").GetString());
        await ConnectorTestKit.AssertSecretsNeverShownAsync(_app, _client, sync.GetProperty("id").GetString()!, wrong);
    }

    [Fact]
    public async Task Sync_WhenRateLimitedAndServerErrors_RetriesAndCompletes()
    {
        _box.AddFile(_docs, "a.txt", "alpha");
        _box.Api.Faults.Add(FaultKind.RateLimited, "/items");
        _box.Api.Faults.Add(FaultKind.ServerError, "/content", times: 2);

        var sync = await _client.SyncAsync("box");

        Assert.Equal("completed", sync.Status());
        Assert.Equal(1, sync.Int("files_processed"));
        Assert.Equal(3, _box.Api.Count("/content"));
    }

    [Fact]
    public async Task Sync_WhenADownloadHangs_CutsItAtTheRequestTimeoutShowsTheFileAndCompletes()
    {
        _box.AddFile(_box.AddFolder(_docs, "notes"), "a.txt", "alpha");
        _box.Api.Faults.Add(FaultKind.Hang, "/content");

        var syncId = await _client.TriggerAsync("box");
        await _client.WaitForCurrentItemAsync(syncId, "File: notes/a.txt");
        var sync = await _client.WaitForEndAsync(syncId, TimeSpan.FromSeconds(60));

        Assert.Equal("completed", sync.Status());
        Assert.Equal(1, sync.Int("files_processed"));
        Assert.Equal(2, _box.Api.Count("/content"));
    }

    [Fact]
    public async Task Sync_WhenOneFileFails_CountsItAndKeepsItForTheNextSync()
    {
        _box.AddFile(_docs, "fine.txt", "fine");
        var broken = _box.AddFile(_docs, "broken.txt", "broken");
        _box.FailingFile = broken;

        var first = await _client.SyncAsync("box");

        Assert.Equal("completed", first.Status());
        Assert.Equal(1, first.Int("files_failed"));
        Assert.Equal([("File: broken.txt", "Box answered 404 (not_found) when asked to download broken.txt.")], first.FailureSamples());
        Assert.Equal(["fine.txt"], await StatesAsync());

        _box.FailingFile = null;
        var second = await _client.SyncAsync("box");
        Assert.Equal(1, second.Connector().Int("total_items"));
        Assert.Equal(1, second.Int("files_processed"));
    }

    [Fact]
    public async Task Sync_WithMoreFoldersThanTheCap_ListsTheFirst1000AndNotesIt()
    {
        for (var i = 0; i < 1_002; i++)
        {
            _box.AddFolder(_docs, $"folder-{i:D4}");
        }

        var sync = await _client.SyncAsync("box");

        Assert.Equal("completed", sync.Status());
        Assert.Equal(999, _box.Api.Requests.Count(r => r.Path.EndsWith("/items", StringComparison.Ordinal) && r.Path != $"/2.0/folders/{_docs}/items"));
        Assert.Contains(_app.Logs.Lines, l => l.Contains(sync.GetProperty("id").GetString()!, StringComparison.Ordinal) && l.Contains("more than 1000 folders", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sync_WhenMarkersLoop_StopsListingAndCompletes()
    {
        _box.AddFile(_docs, "a.txt", "alpha");
        _box.EndlessMarkers = true;

        var sync = await _client.SyncAsync("box");

        Assert.Equal("completed", sync.Status());
        Assert.Equal(1, sync.Connector().Int("total_items"));
        Assert.Contains(_app.Logs.Lines, l => l.Contains(sync.GetProperty("id").GetString()!, StringComparison.Ordinal) && l.Contains("repeated a marker", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FakeBox_Responses_MatchBoxsOfficialShapes()
    {
        _box.AddFile(_box.AddFolder(_docs, "notes"), "a.txt", "alpha");
        await _client.SyncAsync("box");
        await PutConnectionAsync("wrong-secret");
        await _client.SyncAsync("box");

        var token = await ApiShapes.OpenApiResponseAsync("box.json", "/oauth2/token", "post");
        var tokenError = await ApiShapes.OpenApiResponseAsync("box.json", "/oauth2/token", "post", "default");
        var items = await ApiShapes.OpenApiResponseAsync("box.json", "/folders/{folder_id}/items", "get");
        var folder = await ApiShapes.OpenApiResponseAsync("box.json", "/folders/{folder_id}", "get");
        var clientError = await ApiShapes.OpenApiResponseAsync("box.json", "/folders/{folder_id}", "get", "default");
        Assert.All(_box.Api.Responses.Where(r => r.Path == "/oauth2/token" && r.Status == 200), r => Assert.Empty(ApiShapes.Errors(token, r.Body)));
        Assert.All(_box.Api.Responses.Where(r => r.Path == "/oauth2/token" && r.Status == 400), r => Assert.Empty(ApiShapes.Errors(tokenError, r.Body)));
        Assert.All(_box.Api.Responses.Where(r => r.Path.EndsWith("/items", StringComparison.Ordinal)), r => Assert.Empty(ApiShapes.Errors(items, r.Body)));
        Assert.All(_box.Api.Responses.Where(r => r.Path == $"/2.0/folders/{_docs}"), r => Assert.Empty(ApiShapes.Errors(folder, r.Body)));
        Assert.Equal(3, _box.Api.Responses.Select(r => (r.Path.EndsWith("/items", StringComparison.Ordinal), r.Path == "/oauth2/token", r.Status)).Distinct().Count(k => k.Item1 || k.Item2));
        Assert.Empty(ApiShapes.Errors(clientError, System.Text.Json.JsonSerializer.Serialize(new { type = "error", status = 404, code = "not_found", message = "not found", request_id = "r1" })));
        Assert.NotEmpty(ApiShapes.Errors(clientError, System.Text.Json.JsonSerializer.Serialize(new { type = "error", status = 404, code = "no_such_code" })));
    }

    private Task PutConnectionAsync(string clientSecret) =>
        _client.PutConnectionAsync(
            "box",
            new { folder_id = _docs, base_url = _box.BaseUrl.ToString(), token_url = _box.TokenUrl.ToString(), subject_type = "enterprise", subject_id = FakeBox.EnterpriseId },
            new { client_id = FakeBox.ClientId, client_secret = clientSecret });

    private async Task<List<string>> StatesAsync()
    {
        var partition = ItemStateStore.PartitionFor(_tenant, "box");
        var names = new List<string>();
        await foreach (var state in _app.Storage.ItemStates.QueryAsync<ItemStateEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}")))
        {
            names.Add(state.Name);
        }

        return names;
    }
}
