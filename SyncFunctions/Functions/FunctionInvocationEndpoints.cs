using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Microsoft.AspNetCore.Http.HttpResults;
using SyncFunctions.Orchestration;
using SyncFunctions.Storage;

namespace SyncFunctions.Functions;

/// <summary>
/// What the Functions host POSTs to <c>/{FunctionName}</c> for a queue or timer invocation:
/// <c>Data</c> holds the trigger's value under its binding name, <c>Metadata</c> the trigger's
/// binding data (for a queue: <c>DequeueCount</c>, <c>Id</c>, <c>PopReceipt</c>, …, and <c>sys</c>).
/// The host serializes most scalars as JSON text, so a value may arrive quoted once more.
/// </summary>
public sealed class FunctionInvocationRequest
{
    [JsonPropertyName("Data")]
    public Dictionary<string, JsonElement>? Data { get; init; }

    [JsonPropertyName("Metadata")]
    public Dictionary<string, JsonElement>? Metadata { get; init; }
}

/// <summary>The answer the host expects from a custom handler: no output bindings here, log lines for the invocation's log.</summary>
public sealed record FunctionInvocationResponse(
    [property: JsonPropertyName("Outputs")] IReadOnlyDictionary<string, object?> Outputs,
    [property: JsonPropertyName("Logs")] IReadOnlyList<string> Logs,
    [property: JsonPropertyName("ReturnValue")] object? ReturnValue)
{
    public static FunctionInvocationResponse WithLogs(params string[] logs) => new(new Dictionary<string, object?>(), logs, null);
}

/// <summary>
/// <c>POST /SyncRun</c> and <c>POST /StaleSyncSweep</c>: the Functions host's invocations of the queue
/// and timer functions, adapted to the same bodies the local drivers call. Only the host may call them:
/// no HTTP function's route reaches these paths, and a request that is not from this machine or that
/// came through the host's HTTP proxy (it carries forwarding headers) is answered 404, as if the route
/// did not exist. Even a forged run message cannot start a second run: the operation row decides.
/// </summary>
public static partial class FunctionInvocationEndpoints
{
    public const string SyncRunPath = "/SyncRun";
    public const string StaleSyncSweepPath = "/StaleSyncSweep";

    /// <summary>The queue trigger's binding name in <c>SyncRun/function.json</c>.</summary>
    public const string RunMessageBindingName = "message";

    /// <summary>
    /// Headers that mark a request as relayed rather than sent by the host itself. With
    /// <c>enableProxyingHttpRequest</c> the host forwards HTTP-triggered requests through YARP, whose
    /// default transforms set <c>X-Forwarded-For</c>/<c>-Proto</c>/<c>-Host</c>/<c>-Prefix</c>; the
    /// Azure front end adds the ARR and original-URL headers, which the proxy copies through; any other
    /// reverse proxy sets <c>Forwarded</c> or <c>X-Forwarded-For</c>. The host's own invocation POSTs
    /// come straight from its HTTP client and carry none of them.
    /// </summary>
    public static readonly IReadOnlyList<string> ProxyHeaders =
    [
        "Forwarded",
        "X-Forwarded-For",
        "X-Forwarded-Host",
        "X-Forwarded-Proto",
        "X-Forwarded-Prefix",
        "X-Original-URL",
        "X-Original-Host",
        "X-ARR-LOG-ID",
        "X-ARR-SSL",
        "X-WAWS-Unencoded-URL",
        "DISGUISED-HOST",
        "Client-IP",
        "X-Client-IP",
        "x-ms-invocation-id",
    ];

    public static IEndpointRouteBuilder MapFunctionInvocationEndpoints(this IEndpointRouteBuilder app)
    {
        // Not part of the public HTTP contract: kept out of the OpenAPI document and out of authentication.
        app.MapPost(SyncRunPath, SyncRunAsync).AllowAnonymous().ExcludeFromDescription().AddEndpointFilter(OnlyFromFunctionsHostAsync);
        app.MapPost(StaleSyncSweepPath, StaleSyncSweepAsync).AllowAnonymous().ExcludeFromDescription().AddEndpointFilter(OnlyFromFunctionsHostAsync);
        return app;
    }

    /// <summary>True only for a direct call from this machine: what the Functions host's invocations are.</summary>
    internal static bool IsFromFunctionsHost(HttpContext context)
    {
        var remote = context.Connection.RemoteIpAddress;
        return remote is not null && IPAddress.IsLoopback(remote) && !ProxyHeaders.Any(context.Request.Headers.ContainsKey);
    }

    /// <summary>Anything that did not come straight from the host on this machine gets a 404, as if the path did not exist.</summary>
    private static async ValueTask<object?> OnlyFromFunctionsHostAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        if (IsFromFunctionsHost(context))
        {
            return await next(invocation).ConfigureAwait(false);
        }

        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(FunctionInvocationEndpoints));
        LogRefused(logger, context.Request.Path, context.Connection.RemoteIpAddress?.ToString());
        return TypedResults.NotFound();
    }

    private static async Task<Results<Ok<FunctionInvocationResponse>, ValidationProblem, ProblemHttpResult>> SyncRunAsync(
        HttpContext context,
        SyncRunFunction function,
        SyncStorage storage,
        IHostApplicationLifetime lifetime,
        ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(FunctionInvocationEndpoints));

        var request = await ReadAsync(context).ConfigureAwait(false);
        var delivery = request is null ? null : QueueDelivery.From(request);
        if (delivery is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["Data"] = [$"A queue invocation carries the message as Data.{RunMessageBindingName}."],
                ["Metadata"] = ["A queue invocation carries Metadata.Id and a whole-number Metadata.DequeueCount."],
            });
        }

        // The host aborts the request when it gives up on the invocation; stopping hands the run back.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        RunOutcome outcome;
        try
        {
            outcome = await function.InvokeAsync(delivery.Text, delivery.Id, delivery.DequeueCount, HostManagedLease.Instance, stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            LogRunThrew(logger, e, delivery.Id, delivery.DequeueCount);
            return Retry(StatusCodes.Status500InternalServerError, $"The run of message {delivery.Id} failed on delivery {delivery.DequeueCount}; the queue will deliver it again.");
        }
        catch (OperationCanceledException)
        {
            return Retry(StatusCodes.Status503ServiceUnavailable, $"This instance is stopping; message {delivery.Id} goes back to the queue.");
        }

        switch (outcome.Disposition)
        {
            case RunDisposition.Done:
                return TypedResults.Ok(FunctionInvocationResponse.WithLogs($"Run message {delivery.Id} (delivery {delivery.DequeueCount}) handled."));
            case RunDisposition.Poison:
                // The body has already failed the operation. The message goes where the local driver and
                // the host's own poison handling put it, and a 2xx keeps the host from retrying it.
                try
                {
                    await storage.PoisonQueue.SendMessageAsync(delivery.Text, CancellationToken.None).ConfigureAwait(false);
                }
                catch (RequestFailedException e)
                {
                    LogPoisonFailed(logger, e, delivery.Id, e.Status);
                    return Retry(StatusCodes.Status500InternalServerError, $"Message {delivery.Id} could not be moved to the poison queue ({e.Status}).");
                }

                LogPoisoned(logger, delivery.Id);
                return TypedResults.Ok(FunctionInvocationResponse.WithLogs($"Run message {delivery.Id} (delivery {delivery.DequeueCount}) moved to the poison queue."));
            case RunDisposition.Defer:
                // The host owns the message's visibility: failing the invocation shows it again after
                // host.json's queues.visibilityTimeout, when the run lease will have been renewed or expired.
                return Retry(StatusCodes.Status503ServiceUnavailable, string.Create(CultureInfo.InvariantCulture,
                    $"Message {delivery.Id}'s run still holds its lease; look again in about {outcome.Delay.TotalSeconds:0} s."));
            default:
                return Retry(StatusCodes.Status503ServiceUnavailable, $"This instance is stopping; message {delivery.Id} goes back to the queue.");
        }
    }

    private static async Task<Results<Ok<FunctionInvocationResponse>, ValidationProblem, ProblemHttpResult>> StaleSyncSweepAsync(
        HttpContext context,
        StaleSyncSweepFunction function,
        IHostApplicationLifetime lifetime,
        ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(FunctionInvocationEndpoints));

        if (await ReadAsync(context).ConfigureAwait(false) is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [""] = ["A timer invocation is a JSON object with Data and Metadata."] });
        }

        // No sweeper lease here: the host runs a timer function on one instance at a time.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        try
        {
            var result = await function.InvokeAsync(stopping.Token).ConfigureAwait(false);
            return TypedResults.Ok(FunctionInvocationResponse.WithLogs(
                string.Create(CultureInfo.InvariantCulture, $"Cleaned up {result.Cleaned} stuck sync operations")));
        }
        catch (RequestFailedException e)
        {
            // The host records the failed invocation; the next schedule sweeps again.
            LogSweepFailed(logger, e, e.Status);
            return Retry(StatusCodes.Status500InternalServerError, $"The stale-sync sweep failed ({e.Status}); it runs again on the next schedule.");
        }
    }

    private static ProblemHttpResult Retry(int status, string detail) =>
        TypedResults.Problem(statusCode: status, title: "The invocation did not finish", detail: detail);

    private static async Task<FunctionInvocationRequest?> ReadAsync(HttpContext context)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<FunctionInvocationRequest>(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Under the host, the queue extension keeps the message hidden while the invocation runs.</summary>
    private sealed class HostManagedLease : IRunMessageLease
    {
        public static readonly HostManagedLease Instance = new();

        public Task ExtendAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a call to {Path} from {Remote}: only the Functions host may invoke functions, never through a proxy")]
    private static partial void LogRefused(ILogger logger, string path, string? remote);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run of message {MessageId} threw on delivery {DequeueCount}; the host will retry it")]
    private static partial void LogRunThrew(ILogger logger, Exception exception, string messageId, long dequeueCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run message {MessageId} moved to the poison queue")]
    private static partial void LogPoisoned(ILogger logger, string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run message {MessageId} could not be moved to the poison queue ({Status}); the host will retry it")]
    private static partial void LogPoisonFailed(ILogger logger, Exception exception, string messageId, int status);

    [LoggerMessage(Level = LogLevel.Error, Message = "The stale-sync sweep failed ({Status}); it runs again on the next schedule")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception, int status);
}

/// <summary>One queue delivery as the host describes it: the message text, its id and how often it was dequeued.</summary>
internal sealed record QueueDelivery(string Text, string Id, long DequeueCount)
{
    public static QueueDelivery? From(FunctionInvocationRequest request)
    {
        if (request.Data is not { } data || request.Metadata is not { } metadata)
        {
            return null;
        }

        // The binding name from function.json; a payload with one value is taken as that value.
        var value = data.TryGetValue(FunctionInvocationEndpoints.RunMessageBindingName, out var named) ? named
            : data.Count == 1 ? data.Values.First() : default;
        var text = Scalar(value);
        var id = metadata.TryGetValue("Id", out var rawId) ? Scalar(rawId) : null;
        var count = metadata.TryGetValue("DequeueCount", out var rawCount) ? Scalar(rawCount) : null;
        if (text is null || string.IsNullOrEmpty(id) || id.Length > 128
            || !long.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var dequeueCount) || dequeueCount < 1)
        {
            return null;
        }

        return new QueueDelivery(text, id, dequeueCount);
    }

    /// <summary>
    /// A binding value as text. The host sends a string trigger value JSON-encoded inside the JSON
    /// string (<c>"\"{...}\""</c>), numbers as text or as numbers, and objects as objects.
    /// </summary>
    internal static string? Scalar(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
                {
                    try
                    {
                        return JsonSerializer.Deserialize<string>(text);
                    }
                    catch (JsonException)
                    {
                        return text; // quotes that are part of the value itself
                    }
                }

                return text;
            case JsonValueKind.Number:
            case JsonValueKind.Object:
            case JsonValueKind.Array:
                return value.GetRawText();
            default:
                return null;
        }
    }
}
