using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;
using SyncFunctions.Configuration;

namespace SyncFunctions.Connectors;

/// <summary>
/// The outbound HTTP of every connector: a named client whose resilience pipeline (Polly 8) retries
/// 429, 5xx, network errors and timed-out attempts with jittered exponential backoff, waits as long
/// as a <c>Retry-After</c> says (Slack's one-call-a-minute tier is normal, so those waits are not
/// counted against <c>SYNC_REQUEST_MAX_RETRIES</c>; the connector's own timeout bounds them), and
/// cuts every attempt at <c>SYNC_REQUEST_TIMEOUT_SECONDS</c>.
/// </summary>
public static partial class ConnectorHttp
{
    /// <summary>Registers the named client <paramref name="name"/> with the connectors' pipeline.</summary>
    /// <param name="alsoRetry">A response the source documents as "slow down" beyond 429 (GitHub's 403 secondary limit).</param>
    public static IHttpClientBuilder AddConnectorHttpClient(this IServiceCollection services, string name, Func<HttpResponseMessage, bool>? alsoRetry = null)
    {
        // The pipeline's attempt timeout bounds each request; HttpClient's own timeout would cut retries short.
        var builder = services.AddHttpClient(name, client => client.Timeout = Timeout.InfiniteTimeSpan);
        builder.AddResilienceHandler("connector", (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<SyncOptions>>().Value;
            var logger = context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("SyncFunctions.Connectors.Http");
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                // Bounded in ShouldHandle: waits that the server asked for do not use up the attempts.
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RequestRetryDelay,
                MaxDelay = TimeSpan.FromMinutes(2),
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.AttemptNumber, options.RequestMaxRetries, alsoRetry)),
                OnRetry = args =>
                {
                    var request = args.Context.GetRequestMessage();
                    var outcome = args.Outcome.Result is { } response
                        ? ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture)
                        : args.Outcome.Exception is TimeoutRejectedException ? "no answer within the request timeout" : args.Outcome.Exception?.GetType().Name ?? "?";
                    LogRetry(logger, name, request?.Method.Method ?? "?", request?.RequestUri?.AbsolutePath ?? "?", outcome, args.AttemptNumber + 1, args.RetryDelay.TotalSeconds);
                    return ValueTask.CompletedTask;
                },
            });
            pipeline.AddTimeout(options.RequestTimeout);
        });
        return builder;
    }

    /// <summary>Sends a request through the pipeline, turning its give-ups into plain connector errors.</summary>
    public static async Task<HttpResponseMessage> SendForConnectorAsync(
        this HttpClient http, HttpRequestMessage request, string service, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException e)
        {
            throw new ConnectorException(string.Create(CultureInfo.InvariantCulture, $"{service} did not answer within {timeout.TotalSeconds:0} s, even after retries."), e);
        }
        catch (HttpRequestException e)
        {
            throw new ConnectorException($"{service} could not be reached ({e.HttpRequestError}).", e);
        }
    }

    /// <summary>A status for messages to people: "429 Too Many Requests".</summary>
    public static string DescribeStatus(HttpResponseMessage response) =>
        string.Create(CultureInfo.InvariantCulture, $"{(int)response.StatusCode} {response.ReasonPhrase}");

    internal static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, int attempt, int maxRetries, Func<HttpResponseMessage, bool>? alsoRetry)
    {
        if (outcome.Result is { } response && HasRetryAfter(response)
            && (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable || alsoRetry?.Invoke(response) == true))
        {
            // The server said when: waiting is normal, however often it asks (the connector's timeout bounds it).
            return true;
        }

        if (attempt >= maxRetries)
        {
            return false;
        }

        return HttpClientResiliencePredicates.IsTransient(outcome) || (outcome.Result is { } r && alsoRetry?.Invoke(r) == true);
    }

    private static bool HasRetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter is { } after && (after.Delta is not null || after.Date is not null);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connector request {Client} {Method} {Path} answered {Outcome}; attempt {Attempt} in {DelaySeconds:0.###} s")]
    private static partial void LogRetry(ILogger logger, string client, string method, string path, string outcome, int attempt, double delaySeconds);
}

/// <summary>
/// Bearer-token calls with one refresh on 401: the first 401 refreshes the token (once for all the
/// requests that saw the same stale token) and repeats the request; a second 401 is the caller's to report.
/// </summary>
public sealed partial class BearerApi(HttpClient http, string service, TimeSpan timeout, Func<CancellationToken, Task<string>> refresh, ILogger logger) : IDisposable
{
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private string? _token;

    public string Service => service;

    public TimeSpan Timeout => timeout;

    public async Task<string> TokenAsync(CancellationToken cancellationToken) => _token ?? await RefreshAsync(null, cancellationToken).ConfigureAwait(false);

    public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, CancellationToken cancellationToken)
    {
        var token = await TokenAsync(cancellationToken).ConfigureAwait(false);
        var response = await SendWithAsync(create, token, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        response.Dispose();
        LogRefresh(logger, service);
        token = await RefreshAsync(token, cancellationToken).ConfigureAwait(false);
        return await SendWithAsync(create, token, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _refreshing.Dispose();

    /// <summary>A new token, unless another request already replaced <paramref name="stale"/>.</summary>
    private async Task<string> RefreshAsync(string? stale, CancellationToken cancellationToken)
    {
        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is not null && _token != stale)
            {
                return _token;
            }

            _token = await refresh(cancellationToken).ConfigureAwait(false);
            return _token;
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private Task<HttpResponseMessage> SendWithAsync(Func<HttpRequestMessage> create, string token, CancellationToken cancellationToken)
    {
        var request = create();
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http.SendForConnectorAsync(request, service, timeout, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Service} answered 401: refreshing the access token once")]
    private static partial void LogRefresh(ILogger logger, string service);
}
