using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using SyncFunctions.Progress;
using SyncFunctions.Security;

namespace SyncFunctions.Realtime;

/// <summary>
/// <c>GET /api/sync-progress/{sync_id}/stream</c>: Server-Sent Events for EventSource clients. It reads
/// the stored operation, not in-process events, so it works whichever instance runs the sync: durable
/// events (started, stage changes, milestones, the end) are replayed from the row by id, passing
/// progress is sent when the counters move (at most once per read), a comment keeps idle connections
/// open, and the stream ends after <c>complete</c> or <c>error</c>. Last-Event-ID resumes it; a reconnect
/// after the end event gets 204, so EventSource clients stop. It reads
/// the row each poll interval, and at once when the sync runs on this instance and has just written it
/// (<see cref="LocalProgressSignal"/>).
/// </summary>
public sealed partial class ProgressStreamFunction(
    SyncOperationStore operations, LocalProgressSignal signal, TimeProvider time, IOptions<StreamOptions> options, ILoggerFactory loggers)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// text/event-stream; each event has an id, Last-Event-ID resumes; the token may come as
    /// ?access_token= (EventSource sends no headers). Closes after complete or error.
    /// </summary>
    [Function("StreamSyncProgress")]
    public Task<IActionResult> RunAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/sync-progress/{syncId}/stream")] HttpRequest request, string syncId) =>
        Api.ApiFunction.ForCallerAsync(request, async caller =>
            (await StreamAsync(syncId, caller, request.HttpContext, operations, signal, time, options, loggers, request.HttpContext.RequestAborted).ConfigureAwait(false)).Result);

    private static async Task<Results<EmptyHttpResult, NoContent, ValidationProblem, ProblemHttpResult>> StreamAsync(
        string syncId,
        Caller caller,
        HttpContext context,
        SyncOperationStore operations,
        LocalProgressSignal signal,
        TimeProvider time,
        IOptions<StreamOptions> options,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        if (!SyncId.IsValid(syncId))
        {
            return TypedResults.ValidationProblem(Api.ApiProblems.InvalidSyncId);
        }

        // The header wins; the query parameter is for clients that cannot set it. Either, when sent, must be an event id.
        var (lastId, lastIdField) = context.Request.Headers.TryGetValue("Last-Event-ID", out var header) && header.ToString().Length > 0
            ? (header.ToString(), "Last-Event-ID")
            : context.Request.Query.TryGetValue("last_event_id", out var query) ? (query.ToString(), "last_event_id") : (null, "");
        var seen = StreamEventId.None;
        if (lastId is not null && !StreamEventId.TryParse(lastId, out seen))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [lastIdField] = ["Not an event id of this stream."] });
        }

        // Watching before the first read: a write between the read and the first wait still wakes the stream.
        using var watch = signal.Watch(caller.TenantId, syncId);
        var operation = await operations.GetAsync(caller.TenantId, syncId, cancellationToken).ConfigureAwait(false);
        if (operation is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Sync not found", detail: $"This tenant has no sync '{syncId}'.");
        }

        // A client that has seen the end is reconnecting out of EventSource's habit: 204 is how the SSE
        // standard tells it to stop (an empty 200 would have it reconnect every few seconds forever).
        if (operation.IsTerminal && Replay(operation).LastOrDefault(e => e.IsEnd) is { } end && end.Sequence <= seen.Sequence)
        {
            return TypedResults.NoContent();
        }

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);

        var logger = loggers.CreateLogger<ProgressStreamFunction>();
        var poll = options.Value.PollInterval;
        var keepAlive = options.Value.KeepAliveInterval;
        var lastWrite = time.GetUtcNow();
        var opened = lastWrite;
        try
        {
            while (true)
            {
                var (next, ended) = await WriteNewEventsAsync(response, operation, seen, time, cancellationToken).ConfigureAwait(false);
                if (next != seen)
                {
                    seen = next;
                    lastWrite = time.GetUtcNow();
                }

                if (ended)
                {
                    return TypedResults.Empty;
                }

                if (time.GetUtcNow() - lastWrite >= keepAlive)
                {
                    await response.WriteAsync(": keep-alive\n\n", cancellationToken).ConfigureAwait(false);
                    await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
                    lastWrite = time.GetUtcNow();
                }

                // A stream opened right after its trigger finds the sync still queued: its started event is written
                // when a worker claims it, tens of milliseconds later. Waiting a whole interval for it made the first
                // event arrive ~1 s after the trigger (bench: p50 1,015 ms), so until the stream has sent an event it
                // looks again after FirstEventPollInterval, for FirstEventWindow at most (a handful of extra reads).
                // A run on this instance wakes the stream sooner, after each of its writes.
                var delay = seen == StreamEventId.None && time.GetUtcNow() - opened < StreamOptions.FirstEventWindow && poll > StreamOptions.FirstEventPollInterval
                    ? StreamOptions.FirstEventPollInterval
                    : poll;
                await watch.WaitAsync(delay, time, cancellationToken).ConfigureAwait(false);
                operation = await operations.GetAsync(caller.TenantId, syncId, cancellationToken).ConfigureAwait(false);
                if (operation is null)
                {
                    return TypedResults.Empty; // deleted under us: nothing more will come
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogClientLeft(logger, syncId);
            return TypedResults.Empty;
        }
    }

    /// <summary>Writes what the client has not seen; returns the id of the last event written and whether the sync ended.</summary>
    private static async Task<(StreamEventId Last, bool Ended)> WriteNewEventsAsync(
        HttpResponse response, SyncOperationEntity operation, StreamEventId seen, TimeProvider time, CancellationToken cancellationToken)
    {
        var last = seen;
        var wrote = false;
        var log = Replay(operation);
        foreach (var e in log.Where(e => e.Sequence > seen.Sequence))
        {
            await WriteEventAsync(response, new StreamEventId(e.Sequence, -1), e.Type, e.Data, cancellationToken).ConfigureAwait(false);
            last = new StreamEventId(e.Sequence, -1);
            wrote = true;
            if (e.IsEnd)
            {
                await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
                return (last, true);
            }
        }

        var done = operation.FilesProcessed + operation.FilesFailed;
        var doneSeen = last.Done >= 0 ? last.Done : DoneAt(operation, last.Sequence);
        if (!operation.IsTerminal && operation.Status == SyncStatus.Running && done > doneSeen)
        {
            var id = new StreamEventId(last.Sequence, done);
            await WriteEventAsync(response, id, SyncEvent.Progress, ProgressSnapshot.From(operation, time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
            last = id;
            wrote = true;
        }

        if (wrote)
        {
            await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        // An ended sync whose events were all seen (a resume after its last event): nothing more will come.
        // An ended row's replay always ends with an end event, so its log is never empty here.
        return (last, operation.IsTerminal && last.Sequence >= log[^1].Sequence);
    }

    /// <summary>
    /// The durable events to send. A row that ended without an end event in its log (one written before the
    /// log existed) gets one made from its final state, numbered after the log: otherwise its stream would
    /// send nothing and close, and EventSource would reconnect every few seconds forever instead of
    /// reconnecting once with that id and getting 204.
    /// </summary>
    private static IReadOnlyList<SyncEvent> Replay(SyncOperationEntity operation)
    {
        var log = SyncEventLog.Read(operation);
        if (!operation.IsTerminal || (log.Count > 0 && log[^1].IsEnd))
        {
            return log;
        }

        var type = operation.Status == SyncStatus.Completed ? SyncEvent.Complete : SyncEvent.Error;
        var endedAt = operation.CompletedAt ?? operation.CreatedAt;
        var end = new SyncEvent(log.Count == 0 ? 1 : log[^1].Sequence + 1, type, endedAt, ProgressSnapshot.From(operation, endedAt));
        return [.. log, end];
    }

    /// <summary>How many items were done when durable event <paramref name="sequence"/> happened.</summary>
    private static int DoneAt(SyncOperationEntity operation, int sequence) =>
        Replay(operation).LastOrDefault(e => e.Sequence == sequence) is { } e ? e.Data.ProcessedItems + e.Data.FailedItems : 0;

    private static async Task WriteEventAsync(HttpResponse response, StreamEventId id, string type, ProgressSnapshot data, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(data, Json);
        await response.WriteAsync($"id: {id}\nevent: {type}\ndata: {json}\n\n", cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Progress stream of sync {SyncId} closed by the client")]
    private static partial void LogClientLeft(ILogger logger, string syncId);
}

public sealed class StreamOptions
{
    [ConfigurationKeyName("SYNC_STREAM_POLL_MILLISECONDS")]
    public int PollMilliseconds { get; set; } = 1000;

    /// <summary>How often a stream that has sent nothing yet looks again (the least poll interval allowed).</summary>
    public static readonly TimeSpan FirstEventPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How long after opening a stream it polls at <see cref="FirstEventPollInterval"/> while waiting for its first event.</summary>
    public static readonly TimeSpan FirstEventWindow = TimeSpan.FromSeconds(2);

    [ConfigurationKeyName("SYNC_STREAM_KEEPALIVE_SECONDS")]
    public int KeepAliveSeconds { get; set; } = 15;

    public TimeSpan PollInterval => TimeSpan.FromMilliseconds(PollMilliseconds);

    public TimeSpan KeepAliveInterval => TimeSpan.FromSeconds(KeepAliveSeconds);
}

public sealed class StreamOptionsValidator : IValidateOptions<StreamOptions>
{
    public ValidateOptionsResult Validate(string? name, StreamOptions options)
    {
        var failures = new List<string>();
        if (options.PollMilliseconds is < 100 or > 60_000)
        {
            failures.Add($"SYNC_STREAM_POLL_MILLISECONDS must be between 100 and 60000 (was {options.PollMilliseconds}).");
        }

        if (options.KeepAliveSeconds is < 1 or > 600)
        {
            failures.Add($"SYNC_STREAM_KEEPALIVE_SECONDS must be between 1 and 600 (was {options.KeepAliveSeconds}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
