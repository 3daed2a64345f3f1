using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Flows;
using Google.Apis.Auth.OAuth2.Responses;
using Google.Apis.Http;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;

namespace SyncFunctions.Connectors.Gmail;

/// <summary>
/// Gmail through its REST API, with OAuth 2.0 refresh-token credentials refreshed by Google.Apis.Auth
/// (against a configurable token endpoint, over the connectors' HTTP pipeline, on the app's clock).
/// A first sync lists the messages of the configured query (at most 100 pages); later syncs read
/// <c>history.list</c> from the saved <c>historyId</c>, and fall back to a full sync when Gmail answers
/// 404 because that position has expired. Subjects are read while detecting changes (format=metadata)
/// so progress can name each e-mail; bodies are read per item (format=full).
/// </summary>
public sealed partial class GmailConnector(
    System.Net.Http.IHttpClientFactory httpFactory, IHttpMessageHandlerFactory handlers, CheckpointStore checkpoints, TimeProvider time, IOptions<SyncOptions> options, ILogger<GmailConnector> logger) : IConnector
{
    public const string ConnectorName = "gmail";
    public const string HttpClientName = "connector-gmail";
    public const string Scope = "https://www.googleapis.com/auth/gmail.readonly";
    public const int MaxPages = 100;
    private const int MaxRetryIds = 1_000;
    private const int DetectParallelism = 4;
    private static readonly Uri DefaultBaseUrl = new("https://gmail.googleapis.com/");
    private static readonly Uri DefaultTokenUrl = new(GoogleAuthConsts.OidcTokenUrl);
    private static readonly string[] Known = ["query", "base_url", "token_url"];
    private static readonly string[] KnownSecrets = ["client_id", "client_secret", "refresh_token"];

    public string Name => ConnectorName;

    public IReadOnlyDictionary<string, string[]> Validate(ConnectorSettings settings)
    {
        var errors = new Dictionary<string, string[]>();
        settings.RejectUnknown(Known, KnownSecrets, errors);
        settings.RequireHttpUrl("base_url", errors);
        settings.RequireHttpUrl("token_url", errors);
        settings.RequireSecrets(errors, "client_id", "client_secret", "refresh_token");
        if (settings.Has("query") && settings.GetString("query") is not { Length: <= 1000 })
        {
            errors["settings.query"] = ["'query' is a Gmail search (as in the search box), at most 1000 characters."];
        }

        return errors;
    }

    public async Task<IConnectorSession> ConnectAsync(ConnectorContext context, CancellationToken cancellationToken)
    {
        var s = context.Settings;
        var flow = new AuthorizationCodeFlow(new AuthorizationCodeFlow.Initializer(GoogleAuthConsts.OidcAuthorizationUrl, s.GetHttpUri("token_url", DefaultTokenUrl, isBase: false).ToString())
        {
            ClientSecrets = new ClientSecrets { ClientId = s.GetSecret("client_id"), ClientSecret = s.GetSecret("client_secret") },
            Scopes = [Scope],
            Clock = new TimeProviderClock(time),
            // Retries are the pipeline's business; Google's own back-off would retry underneath it.
            DefaultExponentialBackOffPolicy = Google.Apis.Http.ExponentialBackOffPolicy.None,
            HttpClientFactory = new HttpClientFromMessageHandlerFactory(_ =>
                new HttpClientFromMessageHandlerFactory.ConfiguredHttpMessageHandler(handlers.CreateHandler(HttpClientName), false, false)),
        });
        var credential = new UserCredential(flow, "me", new TokenResponse { RefreshToken = s.GetSecret("refresh_token") });
        var timeout = options.Value.RequestTimeout;
        var api = new BearerApi(httpFactory.CreateClient(HttpClientName), "Gmail", timeout, ct => RefreshAsync(credential, ct), logger);
        try
        {
            var gmail = new GmailApi(api, flow, s.GetHttpUri("base_url", DefaultBaseUrl));
            using var profile = await gmail.GetAsync("gmail/v1/users/me/profile", "read the mailbox profile", cancellationToken).ConfigureAwait(false);
            return new GmailSession(context, gmail, s.GetString("query"), profile!.RootElement.GetProperty("historyId").GetString()!, checkpoints, logger);
        }
        catch
        {
            api.Dispose();
            flow.Dispose();
            throw;
        }
    }

    private static async Task<string> RefreshAsync(UserCredential credential, CancellationToken cancellationToken)
    {
        try
        {
            await credential.RefreshTokenAsync(cancellationToken).ConfigureAwait(false);
            return credential.Token.AccessToken;
        }
        catch (TokenResponseException e)
        {
            throw new ConnectorException(
                $"Google rejected the Gmail credentials ({e.Error?.Error ?? "unknown error"}). Connect the account again to get a new refresh token.", e);
        }
    }

    public sealed class GmailCheckpoint
    {
        /// <summary>Where history.list continues from.</summary>
        public string? HistoryId { get; set; }

        /// <summary>Messages whose processing failed: tried again next sync.</summary>
        public List<string> Retry { get; set; } = [];
    }

    private sealed record MessageWork(string Id, string Subject);

    /// <summary>
    /// The checkpoint the commit writes, but for the failures: where history goes on from, and every message
    /// of the work list (also those gone since they were listed); those that do not succeed are retried next sync.
    /// </summary>
    private sealed record GmailPending(string? HistoryId, IReadOnlyList<string> All);

    private sealed class GmailSession(
        ConnectorContext context, GmailApi gmail, string? query, string profileHistoryId, CheckpointStore store, ILogger logger) : IConnectorSession
    {
        public async Task<ChangeSet> DetectChangesAsync(CancellationToken cancellationToken)
        {
            var checkpoint = await store.GetAsync<GmailCheckpoint>(context.TenantId, ConnectorName, cancellationToken).ConfigureAwait(false) ?? new GmailCheckpoint();
            var notes = new List<string>();
            var history = checkpoint.HistoryId is { } start
                ? await FromHistoryAsync(start, notes, cancellationToken).ConfigureAwait(false)
                : null;

            // Without history, a full sync: the profile's historyId, read before listing, is where the next sync goes on.
            var (ids, nextHistoryId) = history ?? (await ListAsync(notes, cancellationToken).ConfigureAwait(false), profileHistoryId);

            ids = ids.Concat(checkpoint.Retry).Distinct(StringComparer.Ordinal).ToList();
            var subjects = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
            await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = DetectParallelism, CancellationToken = cancellationToken }, async (id, ct) =>
            {
                using var metadata = await gmail.GetMessageAsync(id, "metadata&metadataHeaders=Subject", ct).ConfigureAwait(false);
                if (metadata is not null)
                {
                    subjects[id] = Header(metadata.RootElement, "Subject") ?? "(no subject)";
                }
            }).ConfigureAwait(false);

            foreach (var note in notes)
            {
                LogNote(logger, context.SyncId, note);
            }

            // Deleted since they were listed: nothing to sync.
            var work = ids.Where(subjects.ContainsKey).Select(id => WorkItem.Of(id, $"Email: {subjects[id]}", new MessageWork(id, subjects[id]))).ToList();
            return ChangeSet.With(work, notes, new GmailPending(nextHistoryId ?? checkpoint.HistoryId, ids));
        }

        public async Task<SyncDocument?> ProcessItemAsync(WorkItem item, CancellationToken cancellationToken)
        {
            var work = item.StateAs<MessageWork>();
            JsonDocument? message;
            try
            {
                message = await gmail.GetMessageAsync(work.Id, "full", cancellationToken).ConfigureAwait(false);
            }
            catch (ConnectorException e)
            {
                throw new ItemFailedException(e.Message, e);
            }

            if (message is null)
            {
                return null;
            }

            using (message)
            {
                var root = message.RootElement;
                var payload = root.GetProperty("payload");
                return new SyncDocument(
                    work.Id,
                    Header(root, "Subject") ?? "(no subject)",
                    PlainText(payload),
                    new Dictionary<string, string>
                    {
                        ["source"] = ConnectorName,
                        ["message_id"] = work.Id,
                        ["thread_id"] = root.TryGetProperty("threadId", out var thread) ? thread.GetString() ?? "" : "",
                        ["subject"] = Header(root, "Subject") ?? "",
                        ["from"] = Header(root, "From") ?? "",
                        ["date"] = Header(root, "Date") ?? "",
                        ["snippet"] = root.TryGetProperty("snippet", out var snippet) ? snippet.GetString() ?? "" : "",
                    });
            }
        }

        public async Task CommitAsync(ChangeSet detected, IReadOnlyCollection<WorkItem> succeeded, CancellationToken cancellationToken)
        {
            var pending = detected.CheckpointAs<GmailPending>();
            var done = succeeded.Select(i => i.Key).ToHashSet(StringComparer.Ordinal);
            var checkpoint = new GmailCheckpoint
            {
                HistoryId = pending.HistoryId,
                Retry = pending.All.Where(id => !done.Contains(id)).Take(MaxRetryIds).ToList(),
            };
            await store.SaveAsync(context.TenantId, ConnectorName, context.SyncId, checkpoint, cancellationToken).ConfigureAwait(false);
        }

        public ValueTask DisposeAsync()
        {
            gmail.Dispose();
            return ValueTask.CompletedTask;
        }

        /// <summary>
        /// Message ids added since <paramref name="startHistoryId"/> and the history position after them, or null
        /// when that position expired.
        /// </summary>
        private async Task<(List<string> Ids, string? NextHistoryId)?> FromHistoryAsync(string startHistoryId, List<string> notes, CancellationToken cancellationToken)
        {
            var ids = new List<string>();
            string? nextHistoryId = null;
            string? pageToken = null;
            for (var page = 0; ; page++)
            {
                if (page == MaxPages)
                {
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"Gmail: stopped reading history after {MaxPages} pages."));
                    break;
                }

                var path = $"gmail/v1/users/me/history?startHistoryId={Uri.EscapeDataString(startHistoryId)}&historyTypes=messageAdded&maxResults=500"
                    + (pageToken is null ? "" : "&pageToken=" + Uri.EscapeDataString(pageToken));
                using var response = await gmail.GetAsync(path, "read the mailbox history", cancellationToken, allowNotFound: true).ConfigureAwait(false);
                if (response is null)
                {
                    notes.Add("Gmail: the saved history position has expired; ran a full sync.");
                    return null;
                }

                var root = response.RootElement;
                if (root.TryGetProperty("history", out var history))
                {
                    ids.AddRange(history.EnumerateArray()
                        .Where(h => h.TryGetProperty("messagesAdded", out _))
                        .SelectMany(h => h.GetProperty("messagesAdded").EnumerateArray())
                        .Select(m => m.GetProperty("message").GetProperty("id").GetString()!));
                }

                nextHistoryId = root.GetProperty("historyId").GetString();
                pageToken = root.TryGetProperty("nextPageToken", out var next) ? next.GetString() : null;
                if (pageToken is null)
                {
                    break;
                }
            }

            return (ids, nextHistoryId);
        }

        private async Task<List<string>> ListAsync(List<string> notes, CancellationToken cancellationToken)
        {
            var ids = new List<string>();
            string? pageToken = null;
            for (var page = 0; ; page++)
            {
                if (page == MaxPages)
                {
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"Gmail: reached the cap of {MaxPages} pages of messages; older messages were not synced."));
                    break;
                }

                var path = "gmail/v1/users/me/messages?maxResults=500"
                    + (string.IsNullOrEmpty(query) ? "" : "&q=" + Uri.EscapeDataString(query))
                    + (pageToken is null ? "" : "&pageToken=" + Uri.EscapeDataString(pageToken));
                using var response = await gmail.GetAsync(path, "list the messages", cancellationToken).ConfigureAwait(false);
                if (response!.RootElement.TryGetProperty("messages", out var messages))
                {
                    ids.AddRange(messages.EnumerateArray().Select(m => m.GetProperty("id").GetString()!));
                }

                pageToken = response.RootElement.TryGetProperty("nextPageToken", out var next) ? next.GetString() : null;
                if (pageToken is null)
                {
                    break;
                }
            }

            return ids;
        }

        private static string? Header(JsonElement message, string name) =>
            message.TryGetProperty("payload", out var payload) && payload.TryGetProperty("headers", out var headers)
                ? headers.EnumerateArray().FirstOrDefault(h => string.Equals(h.GetProperty("name").GetString(), name, StringComparison.OrdinalIgnoreCase)) is { ValueKind: JsonValueKind.Object } header
                    ? header.GetProperty("value").GetString()
                    : null
                : null;

        /// <summary>The first text/plain part, depth first, decoded from base64url.</summary>
        private static string? PlainText(JsonElement part)
        {
            if (part.TryGetProperty("mimeType", out var mime) && mime.GetString() == "text/plain"
                && part.TryGetProperty("body", out var body) && body.TryGetProperty("data", out var data) && data.GetString() is { } encoded)
            {
                return Encoding.UTF8.GetString(FromBase64Url(encoded));
            }

            return part.TryGetProperty("parts", out var parts) ? parts.EnumerateArray().Select(PlainText).FirstOrDefault(t => t is not null) : null;
        }

        private static byte[] FromBase64Url(string text)
        {
            var s = text.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} gmail: {Note}")]
    private static partial void LogNote(ILogger logger, string syncId, string note);
}

/// <summary>Google.Apis.Auth's clock on the app's <see cref="TimeProvider"/>, so token expiry follows the same time as the engine.</summary>
internal sealed class TimeProviderClock(TimeProvider time) : Google.Apis.Util.IClock
{
    public DateTime Now => time.GetLocalNow().DateTime;

    public DateTime UtcNow => time.GetUtcNow().UtcDateTime;
}

/// <summary>GETs against the Gmail REST API; errors become messages with Gmail's status, never a token.</summary>
internal sealed class GmailApi(BearerApi api, IDisposable flow, Uri baseUrl) : IDisposable
{
    public void Dispose()
    {
        api.Dispose();
        flow.Dispose();
    }

    /// <summary>A message in the given format, or null when it no longer exists.</summary>
    public Task<JsonDocument?> GetMessageAsync(string id, string format, CancellationToken cancellationToken) =>
        GetAsync($"gmail/v1/users/me/messages/{Uri.EscapeDataString(id)}?format={format}", $"read message {id}", cancellationToken, allowNotFound: true);

    public async Task<JsonDocument?> GetAsync(string path, string what, CancellationToken cancellationToken, bool allowNotFound = false)
    {
        using var response = await api.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, path)), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound && allowNotFound)
        {
            return null;
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var status = "";
            try
            {
                using var error = JsonDocument.Parse(text);
                status = error.RootElement.TryGetProperty("error", out var e) && e.TryGetProperty("status", out var s) ? $" ({s.GetString()})" : "";
            }
            catch (JsonException)
            {
                // Not Google's JSON error: the status code says enough.
            }

            throw new ConnectorException(response.StatusCode == HttpStatusCode.Unauthorized
                ? "Gmail rejected the access token even after a refresh (401). Connect the account again."
                : string.Create(CultureInfo.InvariantCulture, $"Gmail answered {(int)response.StatusCode}{status} when asked to {what}."));
        }

        return JsonDocument.Parse(text);
    }
}

public static class GmailConnectorExtensions
{
    public static IServiceCollection AddGmailConnector(this IServiceCollection services)
    {
        services.AddConnectorHttpClient(GmailConnector.HttpClientName);
        services.AddSingleton<IConnector, GmailConnector>();
        return services;
    }
}
