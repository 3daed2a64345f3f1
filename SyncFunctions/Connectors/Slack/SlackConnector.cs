using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;

namespace SyncFunctions.Connectors.Slack;

/// <summary>
/// Slack through its Web API with a bot token: the channels the bot is a member of (at most 200) and
/// their messages since the last sync (at most 10,000 per channel), with thread replies. One work item
/// (and one document) per channel with new messages; the checkpoint is the newest message ts per channel.
/// </summary>
public sealed partial class SlackConnector(
    IHttpClientFactory httpFactory, CheckpointStore checkpoints, IOptions<SyncOptions> options, ILogger<SlackConnector> logger) : IConnector
{
    public const string ConnectorName = "slack";
    public const string HttpClientName = "connector-slack";
    public const int MaxChannels = 200;
    public const int MaxMessagesPerChannel = 10_000;
    private const int MaxListPages = 100;
    private static readonly Uri DefaultBaseUrl = new("https://slack.com/api/");
    private static readonly string[] Known = ["base_url", "include_private"];
    private static readonly string[] KnownSecrets = ["bot_token"];

    public string Name => ConnectorName;

    public IReadOnlyDictionary<string, string[]> Validate(ConnectorSettings settings)
    {
        var errors = new Dictionary<string, string[]>();
        settings.RejectUnknown(Known, KnownSecrets, errors);
        settings.RequireHttpUrl("base_url", errors);
        settings.RequireSecrets(errors, "bot_token");
        if (settings.Values.TryGetValue("include_private", out var value) && value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            errors["settings.include_private"] = ["'include_private' must be true or false."];
        }

        return errors;
    }

    public async Task<IConnectorSession> ConnectAsync(ConnectorContext context, CancellationToken cancellationToken)
    {
        var s = context.Settings;
        var api = new SlackApi(httpFactory.CreateClient(HttpClientName), s.GetHttpUri("base_url", DefaultBaseUrl), s.GetSecret("bot_token") ?? "", options.Value.RequestTimeout);
        var auth = await api.CallAsync("auth.test", [], cancellationToken).ConfigureAwait(false);
        if (auth.Error is { } error)
        {
            throw new ConnectorException(error is "invalid_auth" or "not_authed" or "token_revoked" or "token_expired" or "account_inactive"
                ? $"Slack rejected the bot token ({error}). Install the app again or paste a new bot token."
                : $"Slack refused the connection ({error}).");
        }

        var includePrivate = s.Values.TryGetValue("include_private", out var p) && p.ValueKind == JsonValueKind.True;
        return new SlackSession(context, api, includePrivate, checkpoints, logger);
    }

    public sealed class SlackCheckpoint
    {
        /// <summary>Newest message ts seen per channel id.</summary>
        public Dictionary<string, string> Channels { get; set; } = [];
    }

    private sealed record SlackMessage(string Ts, string? User, string Text, int ReplyCount);

    private sealed record ChannelWork(string Id, string Name, IReadOnlyList<SlackMessage> Messages, string? LatestTs, string? Failure);

    private sealed class SlackSession(
        ConnectorContext context, SlackApi api, bool includePrivate, CheckpointStore store, ILogger logger) : IConnectorSession
    {
        public async Task<ChangeSet> DetectChangesAsync(CancellationToken cancellationToken)
        {
            var checkpoint = await LoadCheckpointAsync(cancellationToken).ConfigureAwait(false);
            var notes = new List<string>();
            var channels = await ListChannelsAsync(notes, cancellationToken).ConfigureAwait(false);
            var work = new List<WorkItem>();
            foreach (var (id, name) in channels)
            {
                checkpoint.Channels.TryGetValue(id, out var oldest);
                var channel = await ReadHistoryAsync(id, name, oldest, notes, cancellationToken).ConfigureAwait(false);
                if (channel.Messages.Count > 0 || channel.Failure is not null)
                {
                    work.Add(WorkItem.Of(id, $"Channel: #{name}", channel));
                }
            }

            foreach (var note in notes)
            {
                LogCap(logger, context.SyncId, note);
            }

            return new ChangeSet(work, notes);
        }

        public async Task<SyncDocument?> ProcessItemAsync(WorkItem item, CancellationToken cancellationToken)
        {
            var channel = item.StateAs<ChannelWork>();
            if (channel.Failure is not null)
            {
                throw new ItemFailedException(channel.Failure);
            }

            var text = new StringBuilder();
            // Oldest first reads like the channel; history pages come newest first.
            foreach (var message in channel.Messages.OrderBy(m => m.Ts, StringComparer.Ordinal))
            {
                text.Append(CultureInfo.InvariantCulture, $"[{message.Ts}] {message.User ?? "unknown"}: {message.Text}\n");
                if (message.ReplyCount > 0)
                {
                    foreach (var reply in await ReadRepliesAsync(channel, message.Ts, cancellationToken).ConfigureAwait(false))
                    {
                        text.Append(CultureInfo.InvariantCulture, $"    [{reply.Ts}] {reply.User ?? "unknown"}: {reply.Text}\n");
                    }
                }
            }

            return new SyncDocument(
                $"{channel.Id}:{channel.LatestTs}",
                $"#{channel.Name}",
                text.ToString(),
                new Dictionary<string, string>
                {
                    ["source"] = ConnectorName,
                    ["channel_id"] = channel.Id,
                    ["channel"] = channel.Name,
                    ["messages"] = channel.Messages.Count.ToString(CultureInfo.InvariantCulture),
                    ["latest_ts"] = channel.LatestTs ?? "",
                });
        }

        public async Task CommitAsync(ChangeSet detected, IReadOnlyCollection<WorkItem> succeeded, CancellationToken cancellationToken)
        {
            // The stored positions, read again: a channel that did not succeed, or had nothing new, keeps its own.
            var checkpoint = await LoadCheckpointAsync(cancellationToken).ConfigureAwait(false);
            foreach (var channel in succeeded.Select(i => i.StateAs<ChannelWork>()).Where(c => c.LatestTs is not null))
            {
                checkpoint.Channels[channel.Id] = channel.LatestTs!;
            }

            await store.SaveAsync(context.TenantId, ConnectorName, context.SyncId, checkpoint, cancellationToken).ConfigureAwait(false);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private async Task<SlackCheckpoint> LoadCheckpointAsync(CancellationToken cancellationToken) =>
            await store.GetAsync<SlackCheckpoint>(context.TenantId, ConnectorName, cancellationToken).ConfigureAwait(false) ?? new SlackCheckpoint();

        private async Task<List<(string Id, string Name)>> ListChannelsAsync(List<string> notes, CancellationToken cancellationToken)
        {
            var channels = new List<(string, string)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var seenCursors = new HashSet<string>(StringComparer.Ordinal);
            string? cursor = null;
            for (var page = 0; ; page++)
            {
                if (page == MaxListPages)
                {
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"Slack: stopped listing channels after {MaxListPages} pages."));
                    break;
                }

                var response = await api.CallAsync(
                    "conversations.list",
                    [("types", includePrivate ? "public_channel,private_channel" : "public_channel"), ("exclude_archived", "true"), ("limit", "200"), ("cursor", cursor)],
                    cancellationToken).ConfigureAwait(false);
                response.ThrowIfError("list the channels");
                foreach (var channel in response.Body.GetProperty("channels").EnumerateArray())
                {
                    if (channel.TryGetProperty("is_member", out var member) && member.ValueKind == JsonValueKind.True && seen.Add(channel.GetProperty("id").GetString()!))
                    {
                        if (channels.Count == MaxChannels)
                        {
                            notes.Add(string.Create(CultureInfo.InvariantCulture, $"Slack: the bot is in more than {MaxChannels} channels; synced the first {MaxChannels}."));
                            return channels;
                        }

                        channels.Add((channel.GetProperty("id").GetString()!, channel.GetProperty("name").GetString()!));
                    }
                }

                cursor = response.NextCursor;
                if (cursor is null)
                {
                    break;
                }

                if (!seenCursors.Add(cursor))
                {
                    notes.Add("Slack: conversations.list repeated a cursor; stopped listing channels there.");
                    break;
                }
            }

            return channels;
        }

        private async Task<ChannelWork> ReadHistoryAsync(string id, string name, string? oldest, List<string> notes, CancellationToken cancellationToken)
        {
            var messages = new List<SlackMessage>();
            var seenCursors = new HashSet<string>(StringComparer.Ordinal);
            string? cursor = null;
            while (true)
            {
                var response = await api.CallAsync(
                    "conversations.history", [("channel", id), ("limit", "200"), ("oldest", oldest), ("cursor", cursor)], cancellationToken).ConfigureAwait(false);
                if (response.Error is { } error)
                {
                    SlackApi.ThrowIfAuthError(error);
                    return new ChannelWork(id, name, [], null, $"Slack answered '{error}' for the history of #{name}.");
                }

                foreach (var message in response.Body.GetProperty("messages").EnumerateArray())
                {
                    if (messages.Count == MaxMessagesPerChannel)
                    {
                        notes.Add(string.Create(CultureInfo.InvariantCulture, $"Slack: #{name} has more than {MaxMessagesPerChannel} new messages; synced the newest {MaxMessagesPerChannel}."));
                        return Work(id, name, messages);
                    }

                    messages.Add(Read(message));
                }

                cursor = response.NextCursor;
                if (cursor is null || !seenCursors.Add(cursor))
                {
                    return Work(id, name, messages);
                }
            }
        }

        private async Task<List<SlackMessage>> ReadRepliesAsync(ChannelWork channel, string threadTs, CancellationToken cancellationToken)
        {
            var replies = new List<SlackMessage>();
            var seenCursors = new HashSet<string>(StringComparer.Ordinal);
            string? cursor = null;
            while (replies.Count < MaxMessagesPerChannel)
            {
                var response = await api.CallAsync(
                    "conversations.replies", [("channel", channel.Id), ("ts", threadTs), ("limit", "200"), ("cursor", cursor)], cancellationToken).ConfigureAwait(false);
                if (response.Error is { } error)
                {
                    throw new ItemFailedException($"Slack answered '{error}' for a thread in #{channel.Name}.");
                }

                // The parent comes first on every page; it is already in the history.
                replies.AddRange(response.Body.GetProperty("messages").EnumerateArray().Select(Read).Where(m => m.Ts != threadTs));
                cursor = response.NextCursor;
                if (cursor is null || !seenCursors.Add(cursor))
                {
                    break;
                }
            }

            return replies;
        }

        private static ChannelWork Work(string id, string name, List<SlackMessage> messages) =>
            new(id, name, messages, messages.Count == 0 ? null : messages.Select(m => m.Ts).Max(StringComparer.Ordinal), null);

        private static SlackMessage Read(JsonElement message) => new(
            message.GetProperty("ts").GetString()!,
            message.TryGetProperty("user", out var user) ? user.GetString() : null,
            message.TryGetProperty("text", out var text) ? text.GetString() ?? "" : "",
            message.TryGetProperty("reply_count", out var count) && count.TryGetInt32(out var n) ? n : 0);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} slack: {Note}")]
    private static partial void LogCap(ILogger logger, string syncId, string note);
}

/// <summary>One Slack Web API call: errors come as HTTP 200 with <c>ok: false</c>.</summary>
internal sealed record SlackResponse(JsonElement Body, string Method)
{
    public string? Error => Body.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True
        ? null
        : Body.TryGetProperty("error", out var error) ? error.GetString() ?? "unknown_error" : "unknown_error";

    public string? NextCursor =>
        Body.TryGetProperty("response_metadata", out var meta) && meta.TryGetProperty("next_cursor", out var next) && next.GetString() is { Length: > 0 } cursor
            ? cursor
            : null;

    public void ThrowIfError(string what)
    {
        if (Error is { } error)
        {
            throw new ConnectorException($"Slack answered '{error}' when asked to {what}.");
        }
    }
}

internal sealed class SlackApi(HttpClient http, Uri baseUrl, string token, TimeSpan timeout)
{
    public async Task<SlackResponse> CallAsync(string method, IEnumerable<(string Name, string? Value)> query, CancellationToken cancellationToken)
    {
        var parameters = string.Join("&", query.Where(q => q.Value is not null).Select(q => $"{q.Name}={Uri.EscapeDataString(q.Value!)}"));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, parameters.Length == 0 ? method : $"{method}?{parameters}"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendForConnectorAsync(request, "Slack", timeout, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new ConnectorException($"Slack answered {ConnectorHttp.DescribeStatus(response)} to {method}.");
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return new SlackResponse(JsonDocument.Parse(body).RootElement.Clone(), method);
        }
        catch (JsonException e)
        {
            throw new ConnectorException($"Slack answered {method} with something other than JSON.", e);
        }
    }

    public static void ThrowIfAuthError(string error)
    {
        if (error is "invalid_auth" or "not_authed" or "token_revoked" or "token_expired" or "account_inactive")
        {
            throw new ConnectorException($"Slack rejected the bot token ({error}).");
        }
    }
}

public static class SlackConnectorExtensions
{
    public static IServiceCollection AddSlackConnector(this IServiceCollection services)
    {
        services.AddConnectorHttpClient(SlackConnector.HttpClientName);
        services.AddSingleton<IConnector, SlackConnector>();
        return services;
    }
}
