using SyncFunctions.Tests.Connectors.Fakes;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Connectors.GitHub;

/// <summary>The GitHub connector (Octokit) through the real engine against a fake REST API.</summary>
public sealed class GitHubConnectorTests(ConnectorAppFixture fixture) : IClassFixture<ConnectorAppFixture>, IAsyncLifetime
{
    private const string Repo = "acme/widgets";
    private readonly SyncApp _app = fixture.App;
    private FakeGitHub _github = null!;
    private HttpClient _client = null!;
    private string _tenant = null!;

    public async Task InitializeAsync()
    {
        _github = await FakeGitHub.StartAsync();
        _github.AddRepository(Repo);
        _tenant = SyncApp.NewTenant("github");
        _client = await _app.ClientForAsync(_tenant);
        await _client.PutConnectionAsync("github", new { base_url = _github.Api.BaseAddress.ToString(), repositories = new[] { Repo } }, new { token = FakeGitHub.Token });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _github.DisposeAsync();
    }

    [Fact]
    public async Task Sync_FirstThenAgain_SyncsIssuesPullRequestsAndMarkdownThenOnlyChanges()
    {
        var bug = _github.AddIssue(Repo, "Crash on start", "It crashes.", pullRequest: false, "Can reproduce.");
        _github.AddIssue(Repo, "Fix the crash", "Fixes it.", pullRequest: true);
        _github.PutFile(Repo, "README.md", "# Widgets");
        _github.PutFile(Repo, "docs/guide.md", "How to use widgets.");
        _github.PutFile(Repo, "src/main.cs", "class Program {}");

        var first = await _client.SyncAsync("github");

        Assert.Equal("completed", first.Status());
        Assert.Equal(4, first.Connector().Int("total_items"));
        Assert.Equal(4, first.Int("files_processed"));
        var documents = await ConnectorTestKit.DocumentsAsync(_app, _tenant, "github", first.GetProperty("id").GetString()!);
        var issue = documents.Single(d => d.GetProperty("id").GetString() == $"{Repo}#{bug}");
        Assert.Contains("It crashes.", issue.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Contains("reviewer: Can reproduce.", issue.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal("pull_request", documents.Single(d => d.GetProperty("title").GetString() == "Fix the crash").GetProperty("metadata").GetProperty("kind").GetString());
        Assert.Equal("How to use widgets.", documents.Single(d => d.GetProperty("title").GetString() == "docs/guide.md").GetProperty("text").GetString());
        Assert.DoesNotContain(documents, d => d.GetProperty("title").GetString() == "src/main.cs");

        var unchanged = await _client.SyncAsync("github");
        Assert.Equal(0, unchanged.Connector().Int("total_items"));
        var before = _github.NotModifiedAnswers;
        var quiet = await _client.SyncAsync("github");
        Assert.Equal(0, quiet.Connector().Int("total_items"));
        Assert.Equal(before + 2, _github.NotModifiedAnswers); // the issues page and the tree: 304, free of rate limit

        _github.EditIssue(Repo, bug, "It crashes on ARM only.");
        _github.PutFile(Repo, "README.md", "# Widgets, v2");
        var changed = await _client.SyncAsync("github");

        Assert.Equal("completed", changed.Status());
        Assert.Equal(2, changed.Connector().Int("total_items"));
        var changedDocuments = await ConnectorTestKit.DocumentsAsync(_app, _tenant, "github", changed.GetProperty("id").GetString()!);
        Assert.Equal(["# Widgets, v2", "Crash on start\n\nIt crashes on ARM only.\n\nreviewer: Can reproduce."], changedDocuments.Select(d => d.GetProperty("text").GetString()).Order(StringComparer.Ordinal));
        await ConnectorTestKit.AssertSecretsNeverShownAsync(_app, _client, changed.GetProperty("id").GetString()!, FakeGitHub.Token);
    }

    [Fact]
    public async Task Sync_WhenRateLimitedAndServerErrors_RetriesAndCompletes()
    {
        _github.AddIssue(Repo, "One", "body");
        _github.PutFile(Repo, "README.md", "# Widgets");
        _github.Api.Faults.Add(FaultKind.RateLimited, "/issues", times: 1);
        _github.Api.Faults.Add(FaultKind.ServerError, "/git/trees/", times: 2);

        var sync = await _client.SyncAsync("github");

        Assert.Equal("completed", sync.Status());
        Assert.Equal(2, sync.Int("files_processed"));
        Assert.Equal(2, _github.Api.Count($"/repos/{Repo}/issues"));
        Assert.Equal(3, _github.Api.Count("/git/trees/"));
    }

    [Fact]
    public async Task Sync_WhenAFileRequestHangs_CutsItAtTheRequestTimeoutShowsTheFileAndCompletes()
    {
        _github.PutFile(Repo, "README.md", "# Widgets");
        _github.Api.Faults.Add(FaultKind.Hang, "/contents/README.md");

        var syncId = await _client.TriggerAsync("github");
        await _client.WaitForCurrentItemAsync(syncId, $"File: {Repo}/README.md");
        var sync = await _client.WaitForEndAsync(syncId, TimeSpan.FromSeconds(60));

        Assert.Equal("completed", sync.Status());
        Assert.Equal(1, sync.Int("files_processed"));
        Assert.Equal(2, _github.Api.Count("/contents/README.md"));
    }

    [Fact]
    public async Task Sync_WhenOneIssueFails_CountsItWithoutRetryingAForbiddenAndSyncsItNextTime()
    {
        var broken = _github.AddIssue(Repo, "Broken", "body", pullRequest: false, "a comment");
        _github.AddIssue(Repo, "Fine", "body", pullRequest: true);
        _github.FailingIssue = broken;

        var first = await _client.SyncAsync("github");

        Assert.Equal("completed", first.Status());
        Assert.Equal(1, first.Int("files_processed"));
        Assert.Equal(1, first.Int("files_failed"));
        Assert.Equal([($"Issue: {Repo}#{broken}", $"GitHub answered 403 when asked to read the comments of {Repo}#{broken}.")], first.FailureSamples());
        Assert.Equal(1, _github.Api.Count($"/issues/{broken}/comments"));

        _github.FailingIssue = null;
        var second = await _client.SyncAsync("github");
        Assert.Equal(0, second.Int("files_failed"));
        Assert.Contains(await ConnectorTestKit.DocumentsAsync(_app, _tenant, "github", second.GetProperty("id").GetString()!), d => d.GetProperty("title").GetString() == "Broken");
    }

    [Fact]
    public async Task Sync_WhenIssuePagesNeverEnd_StopsAtThePageCapAndCompletes()
    {
        _github.AddIssue(Repo, "Only one", "body");
        _github.EndlessIssuePages = true;

        var sync = await _client.SyncAsync("github");

        Assert.Equal("completed", sync.Status());
        Assert.Equal(100, _github.Api.Count($"/repos/{Repo}/issues"));
        Assert.Contains(_app.Logs.Lines, l => l.Contains(sync.GetProperty("id").GetString()!, StringComparison.Ordinal) && l.Contains("more than 100 pages", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sync_WithABadToken_FailsInitializingWithAPlainMessage()
    {
        const string wrong = "ghp_wrong_secret_token_00000000000000000";
        await _client.PutConnectionAsync("github", new { base_url = _github.Api.BaseAddress.ToString(), repositories = new[] { Repo } }, new { token = wrong });

        var sync = await _client.SyncAsync("github");

        Assert.Equal("failed", sync.Status());
        Assert.Equal("initializing", sync.Connector().GetProperty("stage").GetString());
        Assert.Equal("GitHub rejected the token (401). Create a new token with read access to Issues, Pull requests and Contents.", sync.GetProperty("error_message").GetString());
        await ConnectorTestKit.AssertSecretsNeverShownAsync(_app, _client, sync.GetProperty("id").GetString()!, wrong);
    }

    [Fact]
    public async Task FakeGitHub_Responses_MatchGitHubsOfficialShapes()
    {
        _github.AddIssue(Repo, "Issue", "body", pullRequest: false, "comment");
        _github.AddIssue(Repo, "PR", "body", pullRequest: true);
        _github.PutFile(Repo, "README.md", "# Widgets");
        await _client.SyncAsync("github");

        (string Operation, string Path)[] samples =
        [
            ("/repos/{owner}/{repo}", $"/repos/{Repo}"),
            ("/repos/{owner}/{repo}/issues", $"/repos/{Repo}/issues"),
            ("/repos/{owner}/{repo}/issues/{issue_number}/comments", $"/repos/{Repo}/issues/1/comments"),
            ("/repos/{owner}/{repo}/git/trees/{tree_sha}", $"/repos/{Repo}/git/trees/main"),
            ("/repos/{owner}/{repo}/contents/{path}", $"/repos/{Repo}/contents/README.md"),
        ];
        foreach (var (operation, path) in samples)
        {
            var schema = await ApiShapes.OpenApiResponseAsync("github.json", operation, "get");
            // Every answer: the repository is read on each connect (the detection and each batch connect afresh).
            var responses = _github.Api.Responses.Where(r => r.Path == path && r.Status == 200).ToList();
            Assert.NotEmpty(responses);
            Assert.All(responses, response => Assert.Empty(ApiShapes.Errors(schema, response.Body)));
        }

        var issues = await ApiShapes.OpenApiResponseAsync("github.json", "/repos/{owner}/{repo}/issues", "get");
        Assert.NotEmpty(ApiShapes.Errors(issues, "[{\"number\": \"not a number\"}]"));
    }
}
