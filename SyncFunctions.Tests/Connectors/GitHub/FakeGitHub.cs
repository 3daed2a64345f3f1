using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SyncFunctions.Tests.Connectors.Fakes;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Connectors.GitHub;

/// <summary>
/// GitHub's REST API on loopback: repositories, issues (state, since, per_page, page, Link header),
/// comments, recursive trees and file contents; ETag on every JSON answer and 304 for a matching
/// If-None-Match (not counted against x-ratelimit-remaining); errors as {message, documentation_url}.
/// </summary>
public sealed class FakeGitHub : IAsyncDisposable
{
    public const string Token = "github_pat_fake_secret_11ABCDEFG0123456789";

    private readonly ConcurrentDictionary<string, Repo> _repos = new(StringComparer.Ordinal);
    private int _remaining = 5000;
    private DateTimeOffset _now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private FakeGitHub(FakeApi api) => Api = api;

    public FakeApi Api { get; }

    public int PerPage { get; set; } = 100;

    /// <summary>Reading the comments of this issue number answers 403 (no Retry-After: not a rate limit).</summary>
    public int? FailingIssue { get; set; }

    /// <summary>Every issues page links a next page (a pagination loop).</summary>
    public bool EndlessIssuePages { get; set; }

    public int NotModifiedAnswers { get; private set; }

    public static async Task<FakeGitHub> StartAsync()
    {
        FakeGitHub? fake = null;
        var api = await FakeApi.StartAsync(
            (app, api) => app.MapGet("/{**path}", (HttpContext context, string path) => fake!.AnswerAsync(context, path)),
            (context, kind) => context.Response.WriteAsJsonAsync(new
            {
                message = kind switch
                {
                    FaultKind.RateLimited => "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                    FaultKind.Unauthorized => "Bad credentials",
                    _ => "Server Error",
                },
                documentation_url = "https://docs.github.com/rest",
            }));
        fake = new FakeGitHub(api);
        return fake;
    }

    public void AddRepository(string fullName) => _repos[fullName] = new Repo(fullName);

    public int AddIssue(string repo, string title, string body, bool pullRequest = false, params string[] comments)
    {
        var r = _repos[repo];
        var issue = new Issue(r.Issues.Count + 1, title, body, pullRequest, Tick());
        issue.Comments.AddRange(comments);
        r.Issues.Add(issue);
        return issue.Number;
    }

    public void EditIssue(string repo, int number, string body)
    {
        var issue = _repos[repo].Issues.Single(i => i.Number == number);
        issue.Body = body;
        issue.UpdatedAt = Tick();
    }

    public void PutFile(string repo, string path, string content) => _repos[repo].Files[path] = content;

    public ValueTask DisposeAsync() => Api.DisposeAsync();

    private DateTimeOffset Tick() => _now = _now.AddMinutes(1);

    private async Task AnswerAsync(HttpContext context, string path)
    {
        var auth = context.Request.Headers.Authorization.ToString();
        // Octokit sends "Token …"; GitHub takes the scheme in any case, and "Bearer" too.
        var scheme = auth.Split(' ', 2)[0];
        if (auth.Split(' ', 2) is not [_, Token] || !(scheme.Equals("token", StringComparison.OrdinalIgnoreCase) || scheme.Equals("bearer", StringComparison.OrdinalIgnoreCase)))
        {
            await Api.JsonAsync(context, new { message = "Bad credentials", documentation_url = "https://docs.github.com/rest" }, StatusCodes.Status401Unauthorized);
            return;
        }

        var parts = path.Split('/', 5);
        if (parts.Length < 3 || parts[0] != "repos" || !_repos.TryGetValue($"{parts[1]}/{parts[2]}", out var repo))
        {
            await Api.JsonAsync(context, new { message = "Not Found", documentation_url = "https://docs.github.com/rest" }, StatusCodes.Status404NotFound);
            return;
        }

        var rest = parts.Length > 3 ? string.Join('/', parts.Skip(3)) : "";
        JsonNode body;
        if (rest.Length == 0)
        {
            body = RepositoryJson(repo);
        }
        else if (rest == "issues")
        {
            var since = DateTimeOffset.TryParse(context.Request.Query["since"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var s) ? s : DateTimeOffset.MinValue;
            var page = int.TryParse(context.Request.Query["page"], out var p) ? p : 1;
            var matching = repo.Issues.Where(i => i.UpdatedAt >= since).OrderBy(i => i.UpdatedAt).ToList();
            var slice = matching.Skip((page - 1) * PerPage).Take(PerPage).ToList();
            if (EndlessIssuePages || page * PerPage < matching.Count)
            {
                var next = $"{Api.BaseAddress}repos/{repo.FullName}/issues?state=all&sort=updated&direction=asc&per_page={PerPage}&page={page + 1}"
                    + (since == DateTimeOffset.MinValue ? "" : "&since=" + Uri.EscapeDataString(context.Request.Query["since"].ToString()));
                context.Response.Headers.Link = $"<{next}>; rel=\"next\"";
            }

            body = new JsonArray(slice.Select(i => (JsonNode)IssueJson(repo, i)).ToArray());
        }
        else if (rest.StartsWith("issues/", StringComparison.Ordinal) && rest.EndsWith("/comments", StringComparison.Ordinal))
        {
            var number = int.Parse(rest.Split('/')[1], CultureInfo.InvariantCulture);
            if (number == FailingIssue)
            {
                await Api.JsonAsync(context, new { message = "Resource not accessible by personal access token", documentation_url = "https://docs.github.com/rest" }, StatusCodes.Status403Forbidden);
                return;
            }

            body = new JsonArray(repo.Issues.Single(i => i.Number == number).Comments.Select((c, index) => (JsonNode)CommentJson(repo, number, index, c)).ToArray());
        }
        else if (rest == "git/trees/main")
        {
            body = new JsonObject
            {
                ["sha"] = Sha(string.Join('\n', repo.Files.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => f.Key + Sha(f.Value)))),
                ["url"] = $"{Api.BaseAddress}repos/{repo.FullName}/git/trees/main",
                ["truncated"] = false,
                ["tree"] = new JsonArray(repo.Files.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => (JsonNode)new JsonObject
                {
                    ["path"] = f.Key,
                    ["mode"] = "100644",
                    ["type"] = "blob",
                    ["sha"] = Sha(f.Value),
                    ["size"] = Encoding.UTF8.GetByteCount(f.Value),
                    ["url"] = $"{Api.BaseAddress}repos/{repo.FullName}/git/blobs/{Sha(f.Value)}",
                }).ToArray()),
            };
        }
        else if (rest.StartsWith("contents/", StringComparison.Ordinal) && repo.Files.TryGetValue(rest["contents/".Length..], out var content))
        {
            body = ContentJson(repo, rest["contents/".Length..], content);
        }
        else
        {
            await Api.JsonAsync(context, new { message = "Not Found", documentation_url = "https://docs.github.com/rest" }, StatusCodes.Status404NotFound);
            return;
        }

        var json = body.ToJsonString();
        var etag = $"W/\"{Sha(json)}\"";
        context.Response.Headers.ETag = etag;
        context.Response.Headers["x-ratelimit-limit"] = "5000";
        context.Response.Headers["x-ratelimit-resource"] = "core";
        context.Response.Headers["x-ratelimit-reset"] = "1735693200";
        if (context.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            NotModifiedAnswers++;
            context.Response.Headers["x-ratelimit-remaining"] = _remaining.ToString(CultureInfo.InvariantCulture);
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        context.Response.Headers["x-ratelimit-remaining"] = Interlocked.Decrement(ref _remaining).ToString(CultureInfo.InvariantCulture);
        await Api.JsonAsync(context, body);
    }

    private static JsonObject User(string login)
    {
        var user = ApiShapes.Sample("github.json", "simple-user");
        user["login"] = login;
        user["id"] = login.Length;
        user["type"] = "User";
        return user;
    }

    private static JsonObject RepositoryJson(Repo repo)
    {
        var json = ApiShapes.Sample("github.json", "full-repository");
        json["name"] = repo.FullName.Split('/')[1];
        json["full_name"] = repo.FullName;
        json["default_branch"] = "main";
        json["owner"] = User(repo.FullName.Split('/')[0]);
        json["html_url"] = $"https://github.test/{repo.FullName}";
        return json;
    }

    private JsonObject IssueJson(Repo repo, Issue issue)
    {
        var json = ApiShapes.Sample("github.json", "issue");
        json["id"] = issue.Number * 1000;
        json["number"] = issue.Number;
        json["title"] = issue.Title;
        json["body"] = issue.Body;
        json["state"] = "open";
        json["user"] = User("octocat");
        json["comments"] = issue.Comments.Count;
        json["html_url"] = $"https://github.test/{repo.FullName}/issues/{issue.Number}";
        json["created_at"] = issue.UpdatedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        json["updated_at"] = issue.UpdatedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        if (issue.PullRequest)
        {
            json["pull_request"] = new JsonObject
            {
                ["url"] = $"{Api.BaseAddress}repos/{repo.FullName}/pulls/{issue.Number}",
                ["html_url"] = $"https://github.test/{repo.FullName}/pull/{issue.Number}",
                ["diff_url"] = $"https://github.test/{repo.FullName}/pull/{issue.Number}.diff",
                ["patch_url"] = $"https://github.test/{repo.FullName}/pull/{issue.Number}.patch",
            };
        }

        return json;
    }

    private JsonObject CommentJson(Repo repo, int number, int index, string text)
    {
        var json = ApiShapes.Sample("github.json", "issue-comment");
        json["id"] = (number * 1000) + index;
        json["body"] = text;
        json["user"] = User("reviewer");
        json["issue_url"] = $"{Api.BaseAddress}repos/{repo.FullName}/issues/{number}";
        return json;
    }

    private JsonObject ContentJson(Repo repo, string path, string content)
    {
        var json = ApiShapes.Sample("github.json", "content-file");
        json["type"] = "file";
        json["encoding"] = "base64";
        json["name"] = path.Split('/')[^1];
        json["path"] = path;
        json["sha"] = Sha(content);
        json["size"] = Encoding.UTF8.GetByteCount(content);
        json["content"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(content));
        json["url"] = $"{Api.BaseAddress}repos/{repo.FullName}/contents/{path}";
        return json;
    }

    private static string Sha(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..40];

    private sealed record Repo(string FullName)
    {
        public List<Issue> Issues { get; } = [];

        public ConcurrentDictionary<string, string> Files { get; } = new(StringComparer.Ordinal);
    }

    private sealed record Issue(int Number, string Title, string Body, bool PullRequest, DateTimeOffset CreatedAt)
    {
        public string Body { get; set; } = Body;

        public DateTimeOffset UpdatedAt { get; set; } = CreatedAt;

        public List<string> Comments { get; } = [];
    }
}
