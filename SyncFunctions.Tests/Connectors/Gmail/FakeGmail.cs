using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SyncFunctions.Tests.Connectors.Fakes;

namespace SyncFunctions.Tests.Connectors.Gmail;

/// <summary>
/// Google's token endpoint and the Gmail REST API on loopback: users.getProfile, users.messages.list
/// (q, maxResults, pageToken → nextPageToken), users.messages.get (format=metadata|full, base64url
/// bodies), users.history.list (startHistoryId; 404 once it has expired); errors as
/// {error: {code, message, status, errors[]}}, the token endpoint's as {error, error_description}.
/// </summary>
public sealed class FakeGmail : IAsyncDisposable
{
    public const string ClientId = "1234-fake.apps.googleusercontent.com";
    public const string ClientSecret = "GOCSPX-fake-client-secret-77aa";
    public const string RefreshToken = "1//fake-refresh-token-secret-0b3c";

    private static readonly string[] Inbox = ["INBOX"];
    private readonly ConcurrentDictionary<string, Message> _messages = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _accessTokens = new(StringComparer.Ordinal);
    private long _historyId = 1000;
    private int _tokens;

    private FakeGmail(FakeApi api) => Api = api;

    public FakeApi Api { get; }

    public Uri TokenUrl => new(Api.BaseAddress, "token");

    /// <summary>history.list answers 404 for any startHistoryId below this.</summary>
    public long HistoryExpiredBelow { get; set; }

    /// <summary>messages.list always names a next page (a pagination loop).</summary>
    public bool EndlessPages { get; set; }

    /// <summary>Reading this message in full answers 400.</summary>
    public string? FailingMessage { get; set; }

    public static async Task<FakeGmail> StartAsync()
    {
        FakeGmail? fake = null;
        var api = await FakeApi.StartAsync(
            (app, api) =>
            {
                app.MapPost("/token", (HttpContext context) => fake!.TokenAsync(context));
                app.MapGet("/gmail/v1/users/me/profile", (HttpContext context) => fake!.Authorized(context, () => fake.ProfileAsync(context)));
                app.MapGet("/gmail/v1/users/me/messages", (HttpContext context) => fake!.Authorized(context, () => fake.ListAsync(context)));
                app.MapGet("/gmail/v1/users/me/messages/{id}", (HttpContext context, string id) => fake!.Authorized(context, () => fake.GetAsync(context, id)));
                app.MapGet("/gmail/v1/users/me/history", (HttpContext context) => fake!.Authorized(context, () => fake.HistoryAsync(context)));
            },
            (context, kind) => context.Response.WriteAsJsonAsync(Error(context.Response.StatusCode, kind switch
            {
                FaultKind.RateLimited => "RESOURCE_EXHAUSTED",
                FaultKind.Unauthorized => "UNAUTHENTICATED",
                _ => "INTERNAL",
            })));
        fake = new FakeGmail(api);
        return fake;
    }

    public string Receive(string subject, string from, string body)
    {
        var id = Interlocked.Increment(ref _historyId).ToString("x16", CultureInfo.InvariantCulture);
        _messages[id] = new Message(id, subject, from, body, _historyId);
        return id;
    }

    public ValueTask DisposeAsync() => Api.DisposeAsync();

    private static object Error(int code, string status) => new
    {
        error = new { code, message = status.ToLowerInvariant().Replace('_', ' '), status, errors = new[] { new { message = status, domain = "global", reason = status.ToLowerInvariant() } } },
    };

    private async Task TokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        if (form["grant_type"] != "refresh_token" || form["client_id"] != ClientId || form["client_secret"] != ClientSecret || form["refresh_token"] != RefreshToken)
        {
            await Api.JsonAsync(context, new { error = "invalid_grant", error_description = "Bad Request" }, StatusCodes.Status400BadRequest);
            return;
        }

        var token = "ya29.fake-access-" + Interlocked.Increment(ref _tokens).ToString(CultureInfo.InvariantCulture);
        _accessTokens[token] = 0;
        await Api.JsonAsync(context, new { access_token = token, expires_in = 3599, scope = "https://www.googleapis.com/auth/gmail.readonly", token_type = "Bearer" });
    }

    private Task Authorized(HttpContext context, Func<Task> answer)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal) && _accessTokens.ContainsKey(header["Bearer ".Length..])
            ? answer()
            : Api.JsonAsync(context, Error(401, "UNAUTHENTICATED"), 401);
    }

    private Task ProfileAsync(HttpContext context) => Api.JsonAsync(context, new
    {
        emailAddress = "someone@example.test",
        messagesTotal = _messages.Count,
        threadsTotal = _messages.Count,
        historyId = Interlocked.Read(ref _historyId).ToString(CultureInfo.InvariantCulture),
    });

    private Task ListAsync(HttpContext context)
    {
        var q = context.Request.Query["q"].ToString();
        var max = int.TryParse(context.Request.Query["maxResults"], out var m) ? Math.Clamp(m, 1, 500) : 100;
        var start = int.TryParse(context.Request.Query["pageToken"], out var p) ? p : 0;
        var matching = _messages.Values.Where(x => q.Length == 0 || x.Subject.Contains(q, StringComparison.OrdinalIgnoreCase)).OrderByDescending(x => x.HistoryId).ToList();
        var page = matching.Skip(start).Take(max).ToList();
        var next = EndlessPages ? "0" : start + page.Count < matching.Count ? (start + page.Count).ToString(CultureInfo.InvariantCulture) : null;
        return Api.JsonAsync(context, next is null
            ? new { messages = page.Select(x => new { id = x.Id, threadId = x.Id }), resultSizeEstimate = matching.Count }
            : (object)new { messages = page.Select(x => new { id = x.Id, threadId = x.Id }), nextPageToken = next, resultSizeEstimate = matching.Count });
    }

    private Task GetAsync(HttpContext context, string id)
    {
        if (!_messages.TryGetValue(id, out var message))
        {
            return Api.JsonAsync(context, Error(404, "NOT_FOUND"), 404);
        }

        var format = context.Request.Query["format"].ToString();
        if (format == "full" && id == FailingMessage)
        {
            return Api.JsonAsync(context, Error(400, "FAILED_PRECONDITION"), 400);
        }

        var headers = new[]
        {
            new { name = "Subject", value = message.Subject },
            new { name = "From", value = message.From },
            new { name = "Date", value = "Mon, 6 Jan 2025 10:00:00 +0000" },
        };
        var data = Convert.ToBase64String(Encoding.UTF8.GetBytes(message.Body)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var payload = format == "full"
            ? (object)new
            {
                partId = "",
                mimeType = "multipart/alternative",
                filename = "",
                headers,
                body = new { size = 0 },
                parts = new object[]
                {
                    new { partId = "0", mimeType = "text/plain", filename = "", headers = new[] { new { name = "Content-Type", value = "text/plain; charset=UTF-8" } }, body = new { size = Encoding.UTF8.GetByteCount(message.Body), data } },
                    new { partId = "1", mimeType = "text/html", filename = "", headers = new[] { new { name = "Content-Type", value = "text/html; charset=UTF-8" } }, body = new { size = 11, data = "PHA-aGk8L3A-" } },
                },
            }
            : new { mimeType = "multipart/alternative", headers = headers.Where(h => h.name == "Subject").ToArray() };
        return Api.JsonAsync(context, new
        {
            id,
            threadId = id,
            labelIds = Inbox,
            snippet = message.Body.Length > 40 ? message.Body[..40] : message.Body,
            historyId = message.HistoryId.ToString(CultureInfo.InvariantCulture),
            internalDate = "1736157600000",
            sizeEstimate = 1000 + message.Body.Length,
            payload,
        });
    }

    private Task HistoryAsync(HttpContext context)
    {
        var start = long.Parse(context.Request.Query["startHistoryId"].ToString(), CultureInfo.InvariantCulture);
        if (start < HistoryExpiredBelow)
        {
            return Api.JsonAsync(context, Error(404, "NOT_FOUND"), 404);
        }

        var added = _messages.Values.Where(m => m.HistoryId > start).OrderBy(m => m.HistoryId).ToList();
        return Api.JsonAsync(context, new
        {
            history = added.Select(m => new
            {
                id = m.HistoryId.ToString(CultureInfo.InvariantCulture),
                messages = new[] { new { id = m.Id, threadId = m.Id } },
                messagesAdded = new[] { new { message = new { id = m.Id, threadId = m.Id, labelIds = Inbox } } },
            }),
            historyId = Interlocked.Read(ref _historyId).ToString(CultureInfo.InvariantCulture),
        });
    }

    private sealed record Message(string Id, string Subject, string From, string Body, long HistoryId);
}
