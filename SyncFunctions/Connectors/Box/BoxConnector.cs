using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;

namespace SyncFunctions.Connectors.Box;

/// <summary>
/// Box through its REST API: the files below a configured folder, recursively (at most 1,000 folders),
/// with text content for text types. Authentication is the OAuth 2.0 client-credentials grant (a
/// service account of the enterprise, or a user) or a refresh token, which Box rotates: the new one is
/// stored back on the connection. Changes are found by each file's sha1 (or etag) against its stored
/// item state; a file whose processing failed keeps its old state and comes back next sync.
/// </summary>
public sealed partial class BoxConnector(
    IHttpClientFactory httpFactory, ItemStateStore states, ConnectionStore connections, IOptions<SyncOptions> options, ILogger<BoxConnector> logger) : IConnector
{
    public const string ConnectorName = "box";
    public const string HttpClientName = "connector-box";
    public const int MaxFolders = 1_000;
    public const int MaxTextBytes = 1024 * 1024;
    private const int MaxPagesPerFolder = 1_000;
    private static readonly Uri DefaultBaseUrl = new("https://api.box.com/2.0/");
    private static readonly Uri DefaultTokenUrl = new("https://api.box.com/oauth2/token");
    private static readonly string[] Known = ["folder_id", "base_url", "token_url", "subject_type", "subject_id"];
    private static readonly string[] KnownSecrets = ["client_id", "client_secret", "refresh_token"];
    private static readonly HashSet<string> TextExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".txt", ".md", ".markdown", ".csv", ".tsv", ".json", ".xml", ".html", ".htm", ".log", ".yaml", ".yml", ".ini", ".rtf",
    };

    public string Name => ConnectorName;

    public IReadOnlyDictionary<string, string[]> Validate(ConnectorSettings settings)
    {
        var errors = new Dictionary<string, string[]>();
        settings.RejectUnknown(Known, KnownSecrets, errors);
        settings.RequireHttpUrl("base_url", errors);
        settings.RequireHttpUrl("token_url", errors);
        settings.RequireSecrets(errors, "client_id", "client_secret");
        if (settings.GetString("folder_id") is not { Length: > 0 and <= 32 } folder || !folder.All(char.IsAsciiDigit))
        {
            errors["settings.folder_id"] = ["'folder_id' is required: the numeric id of a Box folder (\"0\" is the root)."];
        }

        var hasRefresh = !string.IsNullOrWhiteSpace(settings.GetSecret("refresh_token"));
        var subjectType = settings.GetString("subject_type");
        if (!hasRefresh && subjectType is not ("enterprise" or "user"))
        {
            errors["settings.subject_type"] = ["Give 'subject_type' (\"enterprise\" or \"user\") and 'subject_id' for the client-credentials grant, or the secret 'refresh_token'."];
        }

        if (!hasRefresh && settings.GetString("subject_id") is not { Length: > 0 and <= 32 } subject)
        {
            errors["settings.subject_id"] = ["'subject_id' is the enterprise id or user id the app acts as."];
        }

        return errors;
    }

    public async Task<IConnectorSession> ConnectAsync(ConnectorContext context, CancellationToken cancellationToken)
    {
        var s = context.Settings;
        var http = httpFactory.CreateClient(HttpClientName);
        var timeout = options.Value.RequestTimeout;
        var tokens = new BoxTokens(http, s, s.GetHttpUri("token_url", DefaultTokenUrl, isBase: false), timeout, (refresh, ct) => SaveRotatedRefreshTokenAsync(context, refresh, ct));
        var api = new BearerApi(http, "Box", timeout, tokens.RequestAsync, logger);
        try
        {
            await api.TokenAsync(cancellationToken).ConfigureAwait(false);
            var baseUrl = s.GetHttpUri("base_url", DefaultBaseUrl);
            var folderId = s.GetString("folder_id")!;
            using var root = await api.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, $"folders/{folderId}?fields=id,name")), cancellationToken).ConfigureAwait(false);
            await EnsureSuccessAsync(root, $"open the folder {folderId}", cancellationToken).ConfigureAwait(false);
            return new BoxSession(context, api, baseUrl, folderId, states, logger);
        }
        catch
        {
            api.Dispose();
            throw;
        }
    }

    /// <summary>Box's answer as a plain message: its error code and message, never a token.</summary>
    internal static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var code = "";
        try
        {
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            code = body.RootElement.TryGetProperty("code", out var c) ? $" ({c.GetString()})" : "";
        }
        catch (JsonException)
        {
            // Not Box's JSON error: the status says enough.
        }

        throw response.StatusCode == HttpStatusCode.Unauthorized
            ? new ConnectorException("Box rejected the access token even after a refresh (401). Check the app's authorization in the Box admin console.")
            : new ConnectorException(string.Create(CultureInfo.InvariantCulture, $"Box answered {(int)response.StatusCode}{code} when asked to {what}."));
    }

    private async Task SaveRotatedRefreshTokenAsync(ConnectorContext context, string refreshToken, CancellationToken cancellationToken)
    {
        // Box refresh tokens are single-use: without the new one the next sync could not sign in.
        var current = await connections.GetAsync(context.TenantId, ConnectorName, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return;
        }

        var secrets = new Dictionary<string, string>(current.Settings.Secrets) { ["refresh_token"] = refreshToken };
        await connections.UpsertAsync(context.TenantId, ConnectorName, new ConnectorSettings(current.Settings.Values, secrets), cancellationToken).ConfigureAwait(false);
        LogRotated(logger, context.SyncId);
    }

    private sealed record BoxFile(string Id, string Path, long Size, DateTimeOffset? ModifiedAt, string Version);

    /// <summary>What the commit deletes besides saving the processed files: the ids of files gone.</summary>
    private sealed record BoxPending(IReadOnlyList<string> Removed);

    private sealed class BoxSession(ConnectorContext context, BearerApi api, Uri baseUrl, string rootId, ItemStateStore store, ILogger logger) : IConnectorSession
    {
        public async Task<ChangeSet> DetectChangesAsync(CancellationToken cancellationToken)
        {
            var notes = new List<string>();
            var known = await store.LoadAsync(context.TenantId, ConnectorName, cancellationToken).ConfigureAwait(false);
            var files = new List<BoxFile>();
            var folders = new Queue<(string Id, string Path)>();
            folders.Enqueue((rootId, ""));
            var visited = 0;
            var complete = true;
            while (folders.TryDequeue(out var folder))
            {
                if (visited == MaxFolders)
                {
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"Box: more than {MaxFolders} folders below folder {rootId}; synced the first {MaxFolders}."));
                    complete = false;
                    break;
                }

                visited++;
                complete &= await ListFolderAsync(folder.Id, folder.Path, files, folders, notes, cancellationToken).ConfigureAwait(false);
            }

            var work = new List<WorkItem>();
            // A listing that shifted while it was paged can name a file twice.
            foreach (var file in files.DistinctBy(f => f.Id, StringComparer.Ordinal))
            {
                if (known.TryGetValue(file.Id, out var state) && state.ContentHash == file.Version)
                {
                    continue;
                }

                work.Add(WorkItem.Of(file.Id, $"File: {file.Path}", file));
            }

            // Deletions are only certain when the whole tree was seen.
            var seen = files.Select(f => f.Id).ToHashSet(StringComparer.Ordinal);
            List<string> removed = complete ? known.Keys.Where(k => !seen.Contains(k)).ToList() : [];
            foreach (var note in notes)
            {
                LogNote(logger, context.SyncId, note);
            }

            return ChangeSet.With(work, notes, new BoxPending(removed));
        }

        public async Task<SyncDocument?> ProcessItemAsync(WorkItem item, CancellationToken cancellationToken)
        {
            var file = item.StateAs<BoxFile>();
            string? text = null;
            if (TextExtensions.Contains(System.IO.Path.GetExtension(file.Path)))
            {
                try
                {
                    // Box answers 302 to a download address; HttpClient follows it and drops the token on the way.
                    using var response = await api.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, $"files/{file.Id}/content")), cancellationToken).ConfigureAwait(false);
                    await EnsureSuccessAsync(response, $"download {file.Path}", cancellationToken).ConfigureAwait(false);
                    var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                    text = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, MaxTextBytes));
                }
                catch (ConnectorException e)
                {
                    throw new ItemFailedException(e.Message, e);
                }
            }

            return new SyncDocument(
                file.Id,
                file.Path,
                text,
                new Dictionary<string, string>
                {
                    ["source"] = ConnectorName,
                    ["path"] = file.Path,
                    ["size"] = file.Size.ToString(CultureInfo.InvariantCulture),
                    ["modified_at"] = file.ModifiedAt?.ToString("O", CultureInfo.InvariantCulture) ?? "",
                    ["version"] = file.Version,
                });
        }

        public async Task CommitAsync(ChangeSet detected, IReadOnlyCollection<WorkItem> succeeded, CancellationToken cancellationToken)
        {
            var saved = succeeded.Select(i => i.StateAs<BoxFile>()).Select(f => new ItemStateEntity
            {
                RowKey = f.Id,
                Name = f.Path,
                Size = f.Size,
                ModifiedAt = f.ModifiedAt ?? default,
                ContentHash = f.Version,
                SyncId = context.SyncId,
            });
            await store.SaveAsync(context.TenantId, ConnectorName, saved, cancellationToken).ConfigureAwait(false);
            await store.DeleteAsync(context.TenantId, ConnectorName, detected.CheckpointAs<BoxPending>().Removed, cancellationToken).ConfigureAwait(false);
        }

        public ValueTask DisposeAsync()
        {
            api.Dispose();
            return ValueTask.CompletedTask;
        }

        /// <summary>One folder's entries, marker-paged at 1,000; false when its listing was cut short.</summary>
        private async Task<bool> ListFolderAsync(string id, string path, List<BoxFile> files, Queue<(string, string)> folders, List<string> notes, CancellationToken cancellationToken)
        {
            string? marker = null;
            var markers = new HashSet<string>(StringComparer.Ordinal);
            for (var page = 0; page < MaxPagesPerFolder; page++)
            {
                var query = "fields=id,type,name,size,modified_at,etag,sha1&limit=1000&usemarker=true" + (marker is null ? "" : "&marker=" + Uri.EscapeDataString(marker));
                using var response = await api.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, $"folders/{id}/items?{query}")), cancellationToken).ConfigureAwait(false);
                await EnsureSuccessAsync(response, $"list the folder {(path.Length == 0 ? id : path)}", cancellationToken).ConfigureAwait(false);
                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
                foreach (var entry in body.RootElement.GetProperty("entries").EnumerateArray())
                {
                    var name = entry.GetProperty("name").GetString()!;
                    var entryPath = path.Length == 0 ? name : $"{path}/{name}";
                    switch (entry.GetProperty("type").GetString())
                    {
                        case "folder":
                            folders.Enqueue((entry.GetProperty("id").GetString()!, entryPath));
                            break;
                        case "file":
                            files.Add(new BoxFile(
                                entry.GetProperty("id").GetString()!,
                                entryPath,
                                entry.TryGetProperty("size", out var size) && size.TryGetInt64(out var bytes) ? bytes : 0,
                                entry.TryGetProperty("modified_at", out var modified) && modified.ValueKind == JsonValueKind.String ? modified.GetDateTimeOffset() : null,
                                entry.TryGetProperty("sha1", out var sha1) && sha1.GetString() is { Length: > 0 } digest ? digest
                                    : entry.TryGetProperty("etag", out var etag) ? etag.GetString() ?? "" : ""));
                            break;
                    }
                }

                marker = body.RootElement.TryGetProperty("next_marker", out var next) && next.ValueKind == JsonValueKind.String && next.GetString() is { Length: > 0 } m ? m : null;
                if (marker is null)
                {
                    return true;
                }

                if (!markers.Add(marker))
                {
                    notes.Add($"Box: the listing of folder {id} repeated a marker; stopped there.");
                    return false;
                }
            }

            notes.Add(string.Create(CultureInfo.InvariantCulture, $"Box: folder {id} has more than {MaxPagesPerFolder} pages; stopped there."));
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} box: {Note}")]
    private static partial void LogNote(ILogger logger, string syncId, string note);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} box: stored the refresh token Box rotated")]
    private static partial void LogRotated(ILogger logger, string syncId);
}

/// <summary>Access tokens from Box's token endpoint: client credentials, or a refresh token that Box rotates.</summary>
internal sealed class BoxTokens(HttpClient http, ConnectorSettings settings, Uri tokenUrl, TimeSpan timeout, Func<string, CancellationToken, Task> saveRefreshToken)
{
    private string? _refreshToken = settings.GetSecret("refresh_token");

    public async Task<string> RequestAsync(CancellationToken cancellationToken)
    {
        var form = new Dictionary<string, string>
        {
            ["client_id"] = settings.GetSecret("client_id") ?? "",
            ["client_secret"] = settings.GetSecret("client_secret") ?? "",
        };
        if (!string.IsNullOrWhiteSpace(_refreshToken))
        {
            form["grant_type"] = "refresh_token";
            form["refresh_token"] = _refreshToken;
        }
        else
        {
            form["grant_type"] = "client_credentials";
            form["box_subject_type"] = settings.GetString("subject_type") ?? "";
            form["box_subject_id"] = settings.GetString("subject_id") ?? "";
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, tokenUrl) { Content = new FormUrlEncodedContent(form) };
        using var response = await http.SendForConnectorAsync(request, "Box", timeout, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        JsonElement body;
        try
        {
            body = JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ConnectorException(string.Create(CultureInfo.InvariantCulture, $"Box's token endpoint answered {(int)response.StatusCode} without JSON."), e);
        }

        if (!response.IsSuccessStatusCode || !body.TryGetProperty("access_token", out var token) || token.GetString() is not { Length: > 0 } accessToken)
        {
            var error = body.TryGetProperty("error", out var e) ? e.GetString() : null;
            throw new ConnectorException(string.Create(CultureInfo.InvariantCulture,
                $"Box rejected the app's credentials ({error ?? ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture)}). Check the client id and secret, the subject, and that the app is authorized in the Box admin console."));
        }

        if (body.TryGetProperty("refresh_token", out var rotated) && rotated.GetString() is { Length: > 0 } next && next != _refreshToken && _refreshToken is not null)
        {
            _refreshToken = next;
            await saveRefreshToken(next, cancellationToken).ConfigureAwait(false);
        }

        return accessToken;
    }
}

public static class BoxConnectorExtensions
{
    public static IServiceCollection AddBoxConnector(this IServiceCollection services)
    {
        services.AddConnectorHttpClient(BoxConnector.HttpClientName);
        services.AddSingleton<IConnector, BoxConnector>();
        return services;
    }
}
