using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SyncFunctions.Tests.Connectors.Fakes;

namespace SyncFunctions.Tests.Connectors.Slack;

/// <summary>
/// Slack's Web API on loopback: auth.test, conversations.list/history/replies with cursor paging
/// (limit in, response_metadata.next_cursor out), errors as HTTP 200 with ok:false, 429 with Retry-After.
/// </summary>
public sealed class FakeSlack : IAsyncDisposable
{
    public const string BotToken = "xoxb-fake-secret-bot-token-5f2a9c";

    private readonly ConcurrentDictionary<string, Channel> _channels = new(StringComparer.Ordinal);
    private long _clock = 1_700_000_000;

    private FakeSlack(FakeApi api) => Api = api;

    public FakeApi Api { get; }

    public Uri BaseUrl => new(Api.BaseAddress, "api/");

    /// <summary>conversations.list answers this cursor again and again (a pagination loop).</summary>
    public bool EndlessChannelPages { get; set; }

    /// <summary>conversations.replies of this channel answers ok:false.</summary>
    public string? FailingThreadChannel { get; set; }

    /// <summary>Channels per conversations.list page (Slack pages far below the limit asked for).</summary>
    public int ChannelsPerPage { get; set; } = 50;

    public static async Task<FakeSlack> StartAsync()
    {
        FakeSlack? fake = null;
        var api = await FakeApi.StartAsync(
            (app, api) => app.MapGet("/api/{method}", (HttpContext context, string method) => fake!.AnswerAsync(context, method)),
            (context, kind) => context.Response.WriteAsJsonAsync(new { ok = false, error = kind == FaultKind.RateLimited ? "ratelimited" : "internal_error" }));
        fake = new FakeSlack(api);
        return fake;
    }

    public string AddChannel(string name, bool member = true)
    {
        var id = "C" + (_channels.Count + 1).ToString("D6", CultureInfo.InvariantCulture);
        _channels[id] = new Channel(id, name, member);
        return id;
    }

    public string Post(string channelId, string text, string user = "U0001")
    {
        var ts = NextTs();
        _channels[channelId].Messages.Add(new Message(ts, user, text));
        return ts;
    }

    public string Reply(string channelId, string threadTs, string text, string user = "U0002")
    {
        var ts = NextTs();
        _channels[channelId].Messages.Single(m => m.Ts == threadTs).Replies.Add(new Message(ts, user, text));
        return ts;
    }

    public ValueTask DisposeAsync() => Api.DisposeAsync();

    private string NextTs() => Interlocked.Increment(ref _clock).ToString(CultureInfo.InvariantCulture) + ".000100";

    private Task AnswerAsync(HttpContext context, string method)
    {
        if (context.Request.Headers.Authorization.ToString() != "Bearer " + BotToken)
        {
            return Api.JsonAsync(context, new { ok = false, error = "invalid_auth" });
        }

        var q = context.Request.Query;
        var limit = int.TryParse(q["limit"], out var l) ? Math.Clamp(l, 1, 1000) : 100;
        var offset = int.TryParse(q["cursor"].ToString().Replace("dXNlcjo", "", StringComparison.Ordinal), out var o) ? o : 0;
        switch (method)
        {
            case "auth.test":
                return Api.JsonAsync(context, new { ok = true, url = "https://fake.slack.com/", team = "Fake", user = "syncbot", team_id = "T0001", user_id = "U0BOT", bot_id = "B00000001" });
            case "conversations.list":
            {
                var all = _channels.Values.OrderBy(c => c.Id, StringComparer.Ordinal).ToList();
                var page = all.Skip(offset).Take(Math.Min(limit, ChannelsPerPage)).ToList();
                var next = EndlessChannelPages ? Cursor(offset) : offset + page.Count < all.Count ? Cursor(offset + page.Count) : "";
                return Api.JsonAsync(context, new
                {
                    ok = true,
                    channels = page.Select(c => new { id = c.Id, name = c.Name, is_channel = true, is_member = c.Member, is_private = false, is_archived = false, created = 1_600_000_000 }),
                    response_metadata = new { next_cursor = next },
                });
            }

            case "conversations.history":
            {
                if (!_channels.TryGetValue(q["channel"].ToString(), out var channel))
                {
                    return Api.JsonAsync(context, new { ok = false, error = "channel_not_found" });
                }

                var oldest = q["oldest"].ToString();
                var newer = channel.Messages.Where(m => string.CompareOrdinal(m.Ts, oldest) > 0).OrderByDescending(m => m.Ts, StringComparer.Ordinal).ToList();
                var page = newer.Skip(offset).Take(limit).ToList();
                var more = offset + page.Count < newer.Count;
                return Api.JsonAsync(context, new
                {
                    ok = true,
                    messages = page.Select(m => m.Replies.Count == 0
                        ? (object)new { type = "message", user = m.User, text = m.Text, ts = m.Ts }
                        : new { type = "message", user = m.User, text = m.Text, ts = m.Ts, thread_ts = m.Ts, reply_count = m.Replies.Count }),
                    has_more = more,
                    pin_count = 0,
                    channel_actions_ts = (string?)null,
                    channel_actions_count = 0,
                    response_metadata = new { next_cursor = more ? Cursor(offset + page.Count) : "" },
                });
            }

            case "conversations.replies":
            {
                var id = q["channel"].ToString();
                if (id == FailingThreadChannel)
                {
                    return Api.JsonAsync(context, new { ok = false, error = "thread_not_found" });
                }

                var parent = _channels[id].Messages.Single(m => m.Ts == q["ts"].ToString());
                var replies = parent.Replies.Skip(offset).Take(limit).ToList();
                var more = offset + replies.Count < parent.Replies.Count;
                var messages = new List<object>
                {
                    new { type = "message", user = parent.User, text = parent.Text, ts = parent.Ts, thread_ts = parent.Ts, reply_count = parent.Replies.Count, subscribed = false },
                };
                messages.AddRange(replies.Select(r => new { type = "message", user = r.User, text = r.Text, ts = r.Ts, thread_ts = parent.Ts, parent_user_id = parent.User }));
                return Api.JsonAsync(context, new { ok = true, messages, has_more = more, response_metadata = new { next_cursor = more ? Cursor(offset + replies.Count) : "" } });
            }

            default:
                return Api.JsonAsync(context, new { ok = false, error = "unknown_method" });
        }
    }

    private static string Cursor(int offset) => "dXNlcjo" + offset.ToString(CultureInfo.InvariantCulture);

    private sealed record Message(string Ts, string User, string Text)
    {
        public List<Message> Replies { get; } = [];
    }

    private sealed record Channel(string Id, string Name, bool Member)
    {
        public List<Message> Messages { get; } = [];
    }
}
