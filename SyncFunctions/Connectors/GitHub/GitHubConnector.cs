using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Octokit;
using Octokit.Internal;
using Polly.Timeout;

namespace SyncFunctions.Connectors.GitHub;

/// <summary>
/// GitHub through Octokit: the issues and pull requests (with comments) and the markdown files of the
/// configured repositories. Issues are read with <c>since</c> (the newest <c>updated_at</c> seen) and the
/// first page with <c>If-None-Match</c> (a 304 costs no rate limit); markdown files come from the
/// recursive tree (also conditional) and are compared by blob sha with their stored item states.
/// </summary>
public sealed partial class GitHubConnector(
    IHttpMessageHandlerFactory handlers, CheckpointStore checkpoints, ItemStateStore states, ILogger<GitHubConnector> logger) : IConnector
{
    public const string ConnectorName = "github";
    public const string HttpClientName = "connector-github";
    public const int MaxRepositories = 20;
    private const int MaxIssuePages = 100;
    private static readonly Uri DefaultBaseUrl = new("https://api.github.com/");
    private static readonly string[] Known = ["repositories", "base_url"];
    private static readonly string[] KnownSecrets = ["token"];

    public string Name => ConnectorName;

    public IReadOnlyDictionary<string, string[]> Validate(ConnectorSettings settings)
    {
        var errors = new Dictionary<string, string[]>();
        settings.RejectUnknown(Known, KnownSecrets, errors);
        settings.RequireHttpUrl("base_url", errors);
        settings.RequireSecrets(errors, "token");
        var repositories = settings.GetStringArray("repositories");
        if (repositories is not { Count: > 0 and <= MaxRepositories } || repositories.Any(r => ParseRepository(r) is null))
        {
            errors["settings.repositories"] = [$"'repositories' must list 1 to {MaxRepositories} repositories as \"owner/name\"."];
        }

        return errors;
    }

    public async Task<IConnectorSession> ConnectAsync(ConnectorContext context, CancellationToken cancellationToken)
    {
        var s = context.Settings;
        var conditional = new ConditionalRequestHandler { InnerHandler = handlers.CreateHandler(HttpClientName) };
        var adapter = new HttpClientAdapter(() => conditional);
        var baseUrl = s.GetHttpUri("base_url", DefaultBaseUrl);
        var connection = new Connection(
            new ProductHeaderValue("SyncFunctions"), baseUrl, new InMemoryCredentialStore(new Credentials(s.GetSecret("token"))), adapter, new SimpleJsonSerializer());
        var client = new GitHubClient(connection);
        // Octokit's own 100 s limit would cut a long Retry-After wait; each attempt has the pipeline's
        // timeout and the whole connector its adaptive one.
        client.SetRequestTimeout(TimeSpan.FromHours(2));
        try
        {
            var repositories = new List<RepositoryRef>();
            foreach (var name in s.GetStringArray("repositories") ?? [])
            {
                var (owner, repo) = ParseRepository(name)!.Value;
                var found = await Call(() => client.Repository.Get(owner, repo), $"read the repository {name}").ConfigureAwait(false);
                repositories.Add(new RepositoryRef(owner, repo, found.DefaultBranch));
            }

            return new GitHubSession(context, client, conditional, baseUrl, repositories, checkpoints, states, logger);
        }
        catch
        {
            adapter.Dispose();
            throw;
        }
    }

    /// <summary>Octokit's failures as messages for people: what was asked, what GitHub said, never a token.</summary>
    internal static async Task<T> Call<T>(Func<Task<T>> call, string what)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (AuthorizationException e)
        {
            throw new ConnectorException("GitHub rejected the token (401). Create a new token with read access to Issues, Pull requests and Contents.", e);
        }
        catch (NotFoundException e)
        {
            throw new ConnectorException($"GitHub could not {what}: not found, or the token cannot read it.", e);
        }
        catch (RateLimitExceededException e)
        {
            throw new ConnectorException($"GitHub's rate limit is used up until {e.Reset.ToString("u", CultureInfo.InvariantCulture)}; could not {what}.", e);
        }
        catch (ApiException e)
        {
            throw new ConnectorException(string.Create(CultureInfo.InvariantCulture, $"GitHub answered {(int)e.StatusCode} when asked to {what}."), e);
        }
        catch (TimeoutRejectedException e)
        {
            throw new ConnectorException($"GitHub did not answer in time when asked to {what}, even after retries.", e);
        }
        catch (HttpRequestException e)
        {
            throw new ConnectorException($"GitHub could not be reached ({e.HttpRequestError}).", e);
        }
    }

    private static (string Owner, string Name)? ParseRepository(string text)
    {
        var parts = text.Split('/');
        return parts.Length == 2 && parts.All(p => p.Length is > 0 and <= 100 && p.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && p is not "." and not "..")
            ? (parts[0], parts[1])
            : null;
    }

    public sealed class GitHubCheckpoint
    {
        public Dictionary<string, RepositoryCheckpoint> Repositories { get; set; } = [];
    }

    public sealed class RepositoryCheckpoint
    {
        /// <summary>The newest issue <c>updated_at</c> seen; the next sync asks for issues updated since then.</summary>
        public DateTimeOffset? Since { get; set; }

        /// <summary>Issues updated exactly at <see cref="Since"/> (since is inclusive): already synced.</summary>
        public List<int> SyncedAtSince { get; set; } = [];

        public string? IssuesUrl { get; set; }

        public string? IssuesEtag { get; set; }

        public string? TreeUrl { get; set; }

        public string? TreeEtag { get; set; }
    }

    internal sealed record RepositoryRef(string Owner, string Name, string Branch)
    {
        [JsonIgnore]
        public string FullName => $"{Owner}/{Name}";
    }

    /// <summary>An item's state; the discriminator tells issues from files once the state has been through JSON.</summary>
    [JsonPolymorphic]
    [JsonDerivedType(typeof(IssueWork), "issue")]
    [JsonDerivedType(typeof(FileWork), "file")]
    private abstract record GitHubWork(RepositoryRef Repository);

    private sealed record IssueWork(RepositoryRef Repository, IssueFields Issue) : GitHubWork(Repository);

    private sealed record FileWork(RepositoryRef Repository, string Path, string Sha, long Size) : GitHubWork(Repository);

    /// <summary>What a document needs of an issue: Octokit's models do not round-trip through JSON.</summary>
    private sealed record IssueFields(
        int Number, string Title, string? Body, int Comments, bool IsPullRequest, string State, string? Author, string? HtmlUrl, DateTimeOffset UpdatedAt)
    {
        public static IssueFields From(Issue issue) => new(
            issue.Number, issue.Title, issue.Body, issue.Comments, issue.PullRequest is not null, issue.State.StringValue, issue.User?.Login, issue.HtmlUrl,
            issue.UpdatedAt ?? issue.CreatedAt);
    }

    /// <summary>What the commit needs from detection: each repository's next checkpoint, and the files gone.</summary>
    private sealed record GitHubPending(IReadOnlyDictionary<string, RepositoryCheckpoint> Repositories, IReadOnlyList<string> RemovedFiles);

    private sealed class GitHubSession(
        ConnectorContext context, GitHubClient client, ConditionalRequestHandler conditional, Uri baseUrl, IReadOnlyList<RepositoryRef> repositories,
        CheckpointStore store, ItemStateStore states, ILogger logger) : IConnectorSession
    {
        public async Task<ChangeSet> DetectChangesAsync(CancellationToken cancellationToken)
        {
            var checkpoint = await LoadCheckpointAsync(cancellationToken).ConfigureAwait(false);
            var notes = new List<string>();
            var known = await states.LoadAsync(context.TenantId, ConnectorName, cancellationToken).ConfigureAwait(false);
            var work = new List<WorkItem>();
            var pending = new Dictionary<string, RepositoryCheckpoint>(StringComparer.Ordinal);
            var removedFiles = new List<string>();
            foreach (var repository in repositories)
            {
                checkpoint.Repositories.TryGetValue(repository.FullName, out var previous);
                previous ??= new RepositoryCheckpoint();
                var next = new RepositoryCheckpoint();
                await DetectIssuesAsync(repository, previous, next, work, notes).ConfigureAwait(false);
                await DetectFilesAsync(repository, previous, next, known, work, removedFiles).ConfigureAwait(false);
                pending[repository.FullName] = next;
            }

            foreach (var note in notes)
            {
                LogNote(logger, context.SyncId, note);
            }

            return ChangeSet.With(work, notes, new GitHubPending(pending, removedFiles));
        }

        public async Task<SyncDocument?> ProcessItemAsync(WorkItem item, CancellationToken cancellationToken)
        {
            try
            {
                return item.StateAs<GitHubWork>() switch
                {
                    IssueWork issue => await IssueDocumentAsync(item, issue).ConfigureAwait(false),
                    FileWork file => await FileDocumentAsync(item, file).ConfigureAwait(false),
                    _ => null,
                };
            }
            catch (ConnectorException e)
            {
                throw new ItemFailedException(e.Message, e);
            }
        }

        public async Task CommitAsync(ChangeSet detected, IReadOnlyCollection<WorkItem> succeeded, CancellationToken cancellationToken)
        {
            var pending = detected.CheckpointAs<GitHubPending>();
            var done = succeeded.Select(i => i.Key).ToHashSet(StringComparer.Ordinal);
            // Items were processed in other sessions: a repository failed when one of its items did not succeed.
            var failed = detected.Items.Where(i => !done.Contains(i.Key)).Select(i => i.StateAs<GitHubWork>().Repository.FullName).ToHashSet(StringComparer.Ordinal);
            var checkpoint = await LoadCheckpointAsync(cancellationToken).ConfigureAwait(false);
            foreach (var (name, next) in pending.Repositories)
            {
                // A repository whose items all succeeded moves on; otherwise the next sync asks again.
                if (!failed.Contains(name))
                {
                    checkpoint.Repositories[name] = next;
                }
            }

            await store.SaveAsync(context.TenantId, ConnectorName, context.SyncId, checkpoint, cancellationToken).ConfigureAwait(false);
            var files = succeeded.Select(i => i.StateAs<GitHubWork>()).OfType<FileWork>().Select(f => new ItemStateEntity
            {
                RowKey = FileKey(f.Repository, f.Path),
                Name = $"{f.Repository.FullName}/{f.Path}",
                Size = f.Size,
                ContentHash = f.Sha,
                SyncId = context.SyncId,
            });
            await states.SaveAsync(context.TenantId, ConnectorName, files, cancellationToken).ConfigureAwait(false);
            await states.DeleteAsync(context.TenantId, ConnectorName, pending.RemovedFiles, cancellationToken).ConfigureAwait(false);
        }

        public ValueTask DisposeAsync()
        {
            conditional.Dispose();
            return ValueTask.CompletedTask;
        }

        private async Task<GitHubCheckpoint> LoadCheckpointAsync(CancellationToken cancellationToken) =>
            await store.GetAsync<GitHubCheckpoint>(context.TenantId, ConnectorName, cancellationToken).ConfigureAwait(false) ?? new GitHubCheckpoint();

        private async Task DetectIssuesAsync(RepositoryRef repository, RepositoryCheckpoint previous, RepositoryCheckpoint next, List<WorkItem> work, List<string> notes)
        {
            var since = previous.Since is { } s ? "&since=" + Uri.EscapeDataString(s.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)) : "";
            var first = $"repos/{repository.Owner}/{repository.Name}/issues?state=all&sort=updated&direction=asc&per_page=100{since}";
            var firstKey = new Uri(baseUrl, first).PathAndQuery;
            if (previous.IssuesUrl == firstKey && previous.IssuesEtag is not null)
            {
                conditional.Expect(firstKey, previous.IssuesEtag);
            }

            next.Since = previous.Since;
            next.SyncedAtSince = previous.SyncedAtSince;
            next.IssuesUrl = firstKey;
            next.IssuesEtag = previous.IssuesUrl == firstKey ? previous.IssuesEtag : null;
            Uri? page = new(first, UriKind.Relative);
            var issues = new List<Issue>();
            for (var number = 0; page is not null; number++)
            {
                if (number == MaxIssuePages)
                {
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"GitHub: {repository.FullName} has more than {MaxIssuePages} pages of changed issues; the rest follow next sync."));
                    break;
                }

                var current = page;
                var response = await Call(() => client.Connection.Get<List<Issue>>(current, new Dictionary<string, string>()), $"list the issues of {repository.FullName}").ConfigureAwait(false);
                if (response.HttpResponse.StatusCode == HttpStatusCode.NotModified)
                {
                    return;
                }

                if (number == 0)
                {
                    next.IssuesEtag = response.HttpResponse.ApiInfo.Etag;
                }

                issues.AddRange(response.Body ?? []);
                // An issue updated while the pages were read moves to a later page: keep its last copy.
                issues = issues.GroupBy(i => i.Number).Select(g => g.Last()).ToList();
                page = response.HttpResponse.ApiInfo.Links.TryGetValue("next", out var link) ? link : null;
            }

            foreach (var issue in issues)
            {
                var updated = issue.UpdatedAt ?? issue.CreatedAt;
                if (previous.Since == updated && previous.SyncedAtSince.Contains(issue.Number))
                {
                    continue;
                }

                var kind = issue.PullRequest is null ? "Issue" : "PR";
                work.Add(WorkItem.Of<GitHubWork>($"{repository.FullName}#{issue.Number}", $"{kind}: {repository.FullName}#{issue.Number}", new IssueWork(repository, IssueFields.From(issue))));
            }

            if (issues.Count > 0)
            {
                var newest = issues.Max(i => i.UpdatedAt ?? i.CreatedAt);
                next.Since = newest;
                next.SyncedAtSince = issues.Where(i => (i.UpdatedAt ?? i.CreatedAt) == newest).Select(i => i.Number)
                    .Concat(previous.Since == newest ? previous.SyncedAtSince : []).Distinct().ToList();
            }
        }

        private async Task DetectFilesAsync(
            RepositoryRef repository, RepositoryCheckpoint previous, RepositoryCheckpoint next, Dictionary<string, ItemStateEntity> known, List<WorkItem> work, List<string> removedFiles)
        {
            var uri = $"repos/{repository.Owner}/{repository.Name}/git/trees/{Uri.EscapeDataString(repository.Branch)}?recursive=1";
            var key = new Uri(baseUrl, uri).PathAndQuery;
            if (previous.TreeUrl == key && previous.TreeEtag is not null)
            {
                conditional.Expect(key, previous.TreeEtag);
            }

            next.TreeUrl = key;
            next.TreeEtag = previous.TreeUrl == key ? previous.TreeEtag : null;
            var response = await Call(() => client.Connection.Get<TreeResponse>(new Uri(uri, UriKind.Relative), new Dictionary<string, string>()), $"read the files of {repository.FullName}").ConfigureAwait(false);
            if (response.HttpResponse.StatusCode == HttpStatusCode.NotModified)
            {
                return;
            }

            next.TreeEtag = response.HttpResponse.ApiInfo.Etag;
            var prefix = FileKeyPrefix(repository);
            var present = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in response.Body.Tree.Where(t => t.Type.Value == TreeType.Blob && IsMarkdown(t.Path)))
            {
                var fileKey = FileKey(repository, entry.Path);
                present.Add(fileKey);
                if (known.TryGetValue(fileKey, out var state) && state.ContentHash == entry.Sha)
                {
                    continue;
                }

                work.Add(WorkItem.Of<GitHubWork>(fileKey, $"File: {repository.FullName}/{entry.Path}", new FileWork(repository, entry.Path, entry.Sha, entry.Size)));
            }

            removedFiles.AddRange(known.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !present.Contains(k)));
        }

        private async Task<SyncDocument> IssueDocumentAsync(WorkItem item, IssueWork work)
        {
            var (repository, issue) = (work.Repository, work.Issue);
            var text = new StringBuilder().Append(issue.Title).Append("\n\n").Append(issue.Body);
            if (issue.Comments > 0)
            {
                var comments = await Call(
                    () => client.Issue.Comment.GetAllForIssue(repository.Owner, repository.Name, issue.Number),
                    $"read the comments of {repository.FullName}#{issue.Number}").ConfigureAwait(false);
                foreach (var comment in comments)
                {
                    text.Append("\n\n").Append(comment.User?.Login ?? "unknown").Append(": ").Append(comment.Body);
                }
            }

            return new SyncDocument(
                item.Key,
                issue.Title,
                text.ToString(),
                new Dictionary<string, string>
                {
                    ["source"] = ConnectorName,
                    ["repository"] = repository.FullName,
                    ["kind"] = issue.IsPullRequest ? "pull_request" : "issue",
                    ["number"] = issue.Number.ToString(CultureInfo.InvariantCulture),
                    ["state"] = issue.State,
                    ["author"] = issue.Author ?? "",
                    ["url"] = issue.HtmlUrl ?? "",
                    ["updated_at"] = issue.UpdatedAt.ToString("O", CultureInfo.InvariantCulture),
                });
        }

        private async Task<SyncDocument> FileDocumentAsync(WorkItem item, FileWork file)
        {
            var contents = await Call(
                () => client.Repository.Content.GetAllContentsByRef(file.Repository.Owner, file.Repository.Name, file.Path, file.Repository.Branch),
                $"read {file.Repository.FullName}/{file.Path}").ConfigureAwait(false);
            var content = contents.Count == 1 ? contents[0] : throw new ItemFailedException($"{file.Repository.FullName}/{file.Path} is not a file.");
            return new SyncDocument(
                item.Key,
                file.Path,
                content.Content,
                new Dictionary<string, string>
                {
                    ["source"] = ConnectorName,
                    ["repository"] = file.Repository.FullName,
                    ["kind"] = "file",
                    ["path"] = file.Path,
                    ["sha"] = file.Sha,
                    ["size"] = file.Size.ToString(CultureInfo.InvariantCulture),
                });
        }

        private static bool IsMarkdown(string path) =>
            path.EndsWith(".md", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".markdown", StringComparison.OrdinalIgnoreCase);

        private static string FileKeyPrefix(RepositoryRef repository) => Hash(repository.FullName)[..16] + "-";

        private static string FileKey(RepositoryRef repository, string path) => FileKeyPrefix(repository) + Hash(path);

        private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} github: {Note}")]
    private static partial void LogNote(ILogger logger, string syncId, string note);
}

/// <summary>
/// Adds <c>If-None-Match</c> to the GET requests whose ETag the session knows (Octokit has no per-call
/// header), so an unchanged first page or tree answers 304 and costs no rate limit.
/// </summary>
internal sealed class ConditionalRequestHandler : DelegatingHandler
{
    private readonly ConcurrentDictionary<string, string> _etags = new(StringComparer.Ordinal);

    public void Expect(string pathAndQuery, string etag) => _etags[pathAndQuery] = etag;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Method == HttpMethod.Get && request.RequestUri is { } uri && _etags.TryGetValue(uri.PathAndQuery, out var etag)
            && System.Net.Http.Headers.EntityTagHeaderValue.TryParse(etag, out var tag))
        {
            request.Headers.IfNoneMatch.Clear();
            request.Headers.IfNoneMatch.Add(tag);
        }

        return base.SendAsync(request, cancellationToken);
    }
}

public static class GitHubConnectorExtensions
{
    public static IServiceCollection AddGitHubConnector(this IServiceCollection services)
    {
        // GitHub's secondary rate limits answer 403 with Retry-After: waited out like a 429.
        services.AddConnectorHttpClient(
            GitHubConnector.HttpClientName, response => response.StatusCode == HttpStatusCode.Forbidden && response.Headers.RetryAfter is not null);
        services.AddSingleton<IConnector, GitHubConnector>();
        return services;
    }
}
