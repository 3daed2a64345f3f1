using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SyncFunctions.Tests.Connectors.Fakes;

namespace SyncFunctions.Tests.Connectors.Box;

/// <summary>
/// Box's API on loopback: POST /oauth2/token (client credentials and rotating refresh tokens),
/// /2.0/folders/{id}, /2.0/folders/{id}/items with marker paging, /2.0/files/{id}/content answering 302
/// to a download address; errors as {type:"error", status, code, message, request_id}.
/// </summary>
public sealed class FakeBox : IAsyncDisposable
{
    public const string ClientId = "box-client-id-7d1e";
    public const string ClientSecret = "box-client-secret-fake-93ab0c";
    public const string EnterpriseId = "4242";

    private readonly ConcurrentDictionary<string, Node> _nodes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _accessTokens = new(StringComparer.Ordinal);
    private int _ids = 100;
    private int _tokens;

    private FakeBox(FakeApi api)
    {
        Api = api;
        _nodes["0"] = new Node("0", "All Files", null, IsFolder: true);
    }

    public FakeApi Api { get; }

    public Uri BaseUrl => new(Api.BaseAddress, "2.0/");

    public Uri TokenUrl => new(Api.BaseAddress, "oauth2/token");

    /// <summary>The refresh token Box will accept next (each use rotates it).</summary>
    public string? RefreshToken { get; set; }

    public int PageSize { get; set; } = 1000;

    /// <summary>Downloading this file id answers 404 every time.</summary>
    public string? FailingFile { get; set; }

    /// <summary>Every page of a folder's items names the same next marker (a pagination loop).</summary>
    public bool EndlessMarkers { get; set; }

    public static async Task<FakeBox> StartAsync()
    {
        FakeBox? fake = null;
        var api = await FakeApi.StartAsync(
            (app, api) =>
            {
                app.MapPost("/oauth2/token", (HttpContext context) => fake!.TokenAsync(context));
                app.MapGet("/2.0/folders/{id}", (HttpContext context, string id) => fake!.FolderAsync(context, id));
                app.MapGet("/2.0/folders/{id}/items", (HttpContext context, string id) => fake!.ItemsAsync(context, id));
                app.MapGet("/2.0/files/{id}/content", (HttpContext context, string id) => fake!.ContentAsync(context, id));
                app.MapGet("/download/{id}", (HttpContext context, string id) => context.Response.WriteAsync(fake!._nodes[id].Content ?? ""));
            },
            (context, kind) => context.Response.WriteAsJsonAsync(Error(context.Response.StatusCode, kind switch
            {
                FaultKind.RateLimited => "too_many_requests",
                FaultKind.Unauthorized => "unauthorized",
                _ => "internal_server_error",
            })));
        fake = new FakeBox(api);
        return fake;
    }

    public string AddFolder(string parentId, string name)
    {
        var id = Interlocked.Increment(ref _ids).ToString(CultureInfo.InvariantCulture);
        _nodes[id] = new Node(id, name, parentId, IsFolder: true);
        return id;
    }

    public string AddFile(string parentId, string name, string content)
    {
        var id = Interlocked.Increment(ref _ids).ToString(CultureInfo.InvariantCulture);
        _nodes[id] = new Node(id, name, parentId, IsFolder: false) { Content = content, ModifiedAt = DateTimeOffset.UnixEpoch.AddDays(_ids) };
        return id;
    }

    public void EditFile(string id, string content)
    {
        var node = _nodes[id];
        node.Content = content;
        node.Version++;
        node.ModifiedAt = node.ModifiedAt.AddMinutes(1);
    }

    public void Delete(string id) => _nodes.TryRemove(id, out _);

    public ValueTask DisposeAsync() => Api.DisposeAsync();

    private static object Error(int status, string code) =>
        new { type = "error", status, code, message = code.Replace('_', ' '), request_id = "req" + status.ToString(CultureInfo.InvariantCulture) };

    private async Task TokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        var grant = form["grant_type"].ToString();
        if (form["client_id"] != ClientId || form["client_secret"] != ClientSecret)
        {
            await Api.JsonAsync(context, new { error = "invalid_client", error_description = "The client credentials are invalid" }, StatusCodes.Status400BadRequest);
            return;
        }

        if (grant == "client_credentials" && form["box_subject_type"] == "enterprise" && form["box_subject_id"] == EnterpriseId)
        {
            await Api.JsonAsync(context, new { access_token = NewAccessToken(), expires_in = 3600, token_type = "bearer", restricted_to = Array.Empty<object>(), issued_token_type = "urn:ietf:params:oauth:token-type:access_token" });
            return;
        }

        if (grant == "refresh_token" && RefreshToken is not null && form["refresh_token"] == RefreshToken)
        {
            RefreshToken = "box-refresh-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            await Api.JsonAsync(context, new { access_token = NewAccessToken(), expires_in = 3600, token_type = "bearer", restricted_to = Array.Empty<object>(), refresh_token = RefreshToken });
            return;
        }

        await Api.JsonAsync(context, new { error = "invalid_grant", error_description = "Grant credentials are invalid" }, StatusCodes.Status400BadRequest);
    }

    private string NewAccessToken()
    {
        var token = "box-access-" + Interlocked.Increment(ref _tokens).ToString(CultureInfo.InvariantCulture);
        _accessTokens[token] = 0;
        return token;
    }

    private bool Authorized(HttpContext context) =>
        context.Request.Headers.Authorization.ToString() is var header && header.StartsWith("Bearer ", StringComparison.Ordinal) && _accessTokens.ContainsKey(header["Bearer ".Length..]);

    private Task FolderAsync(HttpContext context, string id)
    {
        if (!Authorized(context))
        {
            return Api.JsonAsync(context, Error(401, "unauthorized"), 401);
        }

        return _nodes.TryGetValue(id, out var node) && node.IsFolder
            ? Api.JsonAsync(context, new { id, type = "folder", name = node.Name, etag = "0" })
            : Api.JsonAsync(context, Error(404, "not_found"), 404);
    }

    private Task ItemsAsync(HttpContext context, string id)
    {
        if (!Authorized(context))
        {
            return Api.JsonAsync(context, Error(401, "unauthorized"), 401);
        }

        if (!_nodes.TryGetValue(id, out var folder) || !folder.IsFolder)
        {
            return Api.JsonAsync(context, Error(404, "not_found"), 404);
        }

        var start = int.TryParse(context.Request.Query["marker"].ToString().Replace("m-", "", StringComparison.Ordinal), out var m) ? m : 0;
        var limit = int.TryParse(context.Request.Query["limit"], out var l) ? Math.Min(l, PageSize) : 100;
        var children = _nodes.Values.Where(n => n.ParentId == id).OrderBy(n => int.Parse(n.Id, CultureInfo.InvariantCulture)).ToList();
        var page = children.Skip(start).Take(limit).ToList();
        var next = EndlessMarkers ? "m-0" : start + page.Count < children.Count ? "m-" + (start + page.Count).ToString(CultureInfo.InvariantCulture) : null;
        return Api.JsonAsync(context, new
        {
            limit,
            next_marker = next,
            entries = page.Select(n => n.IsFolder
                ? (object)new { id = n.Id, type = "folder", etag = "0", sequence_id = "0", name = n.Name }
                : new
                {
                    id = n.Id,
                    type = "file",
                    etag = n.Version.ToString(CultureInfo.InvariantCulture),
                    sequence_id = n.Version.ToString(CultureInfo.InvariantCulture),
                    name = n.Name,
                    sha1 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(n.Content ?? "")))[..40],
                    size = Encoding.UTF8.GetByteCount(n.Content ?? ""),
                    modified_at = n.ModifiedAt.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture),
                }),
        });
    }

    private Task ContentAsync(HttpContext context, string id)
    {
        if (!Authorized(context))
        {
            return Api.JsonAsync(context, Error(401, "unauthorized"), 401);
        }

        if (id == FailingFile)
        {
            return Api.JsonAsync(context, Error(404, "not_found"), 404);
        }

        context.Response.StatusCode = StatusCodes.Status302Found;
        context.Response.Headers.Location = new Uri(Api.BaseAddress, $"download/{id}").ToString();
        return Task.CompletedTask;
    }

    private sealed record Node(string Id, string Name, string? ParentId, bool IsFolder)
    {
        public string? Content { get; set; }

        public int Version { get; set; } = 1;

        public DateTimeOffset ModifiedAt { get; set; }
    }
}
