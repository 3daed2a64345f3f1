using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace SyncFunctions.Benchmarks;

/// <summary>
/// A reverse proxy in front of an Azurite (one loopback port per service) that counts every storage request that
/// passes, whoever sends it: the app's own clients and the Durable backend's (DurableTask.AzureStorage's queues,
/// tables and blobs), which StorageRequestCounter cannot see. An app given <see cref="ConnectionString"/> sends
/// everything through it.
/// </summary>
/// <remarks>
/// Requests go on verbatim: method, raw path and query, headers and body. SharedKey signs the account, the path and
/// query, the date and the content headers, not the Host, so a request signed for the proxy's port is valid at
/// Azurite's (Azurite reads the account from the path of a 127.0.0.1 URL).
/// </remarks>
internal sealed class CountingStorageProxy : IAsyncDisposable
{
    // Per hop, so not forwarded (RFC 9110 7.6.1); Host is the upstream's, set by HttpClient from the URI.
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Expect",
    };

    private readonly WebApplication _web;
    private readonly HttpClient _upstream;
    private readonly Dictionary<int, (string Service, int UpstreamPort)> _routes;
    private readonly int _blob, _queue, _table;
    private ConcurrentDictionary<StorageRequestKind, long> _counts = new();
    // Operations inside table batches, by table: one request each above, many writes here.
    private ConcurrentDictionary<string, long> _batched = new(StringComparer.Ordinal);
    private long _lastCountedTicks = Stopwatch.GetTimestamp();
    private long _windowStartTicks = Stopwatch.GetTimestamp();

    private CountingStorageProxy(WebApplication web, HttpClient upstream, int blob, int queue, int table, Dictionary<int, (string, int)> routes)
    {
        _web = web;
        _upstream = upstream;
        _blob = blob;
        _queue = queue;
        _table = table;
        _routes = routes;
    }

    /// <summary>The same account as the Azurite's, on the proxy's ports.</summary>
    public string ConnectionString => Azurite.ConnectionStringFor(_blob, _queue, _table);

    /// <summary>Time since the last request that counts for a sync (idle polls and background do not): how settled the app is.</summary>
    public TimeSpan SinceLastCounted => Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastCountedTicks));

    public static async Task<CountingStorageProxy> StartAsync(Azurite azurite)
    {
        int blob = Repo.FreePort(), queue = Repo.FreePort(), table = Repo.FreePort();
        var routes = new Dictionary<int, (string, int)>
        {
            [blob] = ("blob", azurite.BlobPort),
            [queue] = ("queue", azurite.QueuePort),
            [table] = ("table", azurite.TablePort),
        };

        // An empty builder: the benchmark's own configuration, environment and appsettings files are not the proxy's.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            // Large-message blobs and entity batches may be bigger than Kestrel's default request limit.
            k.Limits.MaxRequestBodySize = null;
            foreach (var port in routes.Keys)
            {
                k.Listen(IPAddress.Loopback, port);
            }
        });
        var web = builder.Build();
        var upstream = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            // The backend's queue polls hold connections while messages are fetched; no pooling limit of ours should queue them.
            MaxConnectionsPerServer = int.MaxValue,
        })
        {
            // The SDK clients have their own timeouts and retries; the proxy must not add a shorter one.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var proxy = new CountingStorageProxy(web, upstream, blob, queue, table, routes);
        web.Run(proxy.ForwardAsync);
        await web.StartAsync();
        return proxy;
    }

    /// <summary>Starts a new counting window: what was counted so far is dropped.</summary>
    public void Reset()
    {
        _counts = new();
        _batched = new(StringComparer.Ordinal);
        Interlocked.Exchange(ref _windowStartTicks, Stopwatch.GetTimestamp());
    }

    /// <summary>What was counted since the last <see cref="Reset"/>, and over how long.</summary>
    public StorageTally Snapshot() => new(
        _counts.Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value),
        _batched.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
        Stopwatch.GetElapsedTime(Interlocked.Read(ref _windowStartTicks)));

    /// <summary>
    /// Waits, bounded, until no counted request has passed for <paramref name="quiet"/>: the writes a sync's engine makes
    /// after its orchestration completed (the lock release, history, instance row) have then landed.
    /// </summary>
    public async Task<bool> WaitForQuietAsync(TimeSpan quiet, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (SinceLastCounted < quiet)
        {
            if (sw.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _web.StopAsync(stopping.Token);
        }
        finally
        {
            await _web.DisposeAsync();
            _upstream.Dispose();
        }
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var (service, upstreamPort) = _routes[context.Connection.LocalPort];
        // The raw target, not the decoded Path: the signature is over the path exactly as the client encoded it.
        var target = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var uri = new Uri($"http://127.0.0.1:{upstreamPort}{target}", new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), uri);
        var requestBody = await RequestContentAsync(context.Request, service, target);
        request.Content = requestBody.Content;
        foreach (var (name, values) in context.Request.Headers)
        {
            if (NotForwarded.Contains(name))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                // A content header (Content-Type, Content-Length, Content-MD5...): it belongs on the content.
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        HttpResponseMessage response;
        try
        {
            response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        }
        catch (HttpRequestException e)
        {
            // Azurite down (a fault scenario stopped it): the client sees a gateway error and retries as it would for a dropped connection.
            Count(StorageRequestClassifier.Classify(service, context.Request.Method, target, responseHadMessages: null), requestBody.BatchTables);
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            await context.Response.WriteAsync(e.Message, context.RequestAborted);
            return;
        }

        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (!NotForwarded.Contains(name))
                {
                    context.Response.Headers[name] = new StringValues(values.ToArray());
                }
            }

            bool? hadMessages = null;
            if (StorageRequestClassifier.IsMessageFetch(service, context.Request.Method, target) && response.IsSuccessStatusCode)
            {
                // Small (at most 32 messages): read whole, so an empty answer can be told apart from a delivery.
                var body = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
                hadMessages = StorageRequestClassifier.HoldsMessage(body);
                await context.Response.Body.WriteAsync(body, context.RequestAborted);
            }
            else
            {
                await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
            }

            Count(StorageRequestClassifier.Classify(service, context.Request.Method, target, hadMessages), requestBody.BatchTables);
        }
    }

    /// <summary>
    /// The body to send on: streamed, except a table batch, which is read whole (at most 4 MiB by the service's rules) to
    /// learn which tables its operations write; the batch is one request, its operations are tallied apart.
    /// </summary>
    private static async Task<(HttpContent? Content, IReadOnlyList<string> BatchTables)> RequestContentAsync(HttpRequest request, string service, string target)
    {
        var hasBody = request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0;
        if (!hasBody)
        {
            return (null, []);
        }

        if (service == "table" && target.Contains("/$batch", StringComparison.Ordinal))
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
            var bytes = buffer.ToArray();
            return (new ByteArrayContent(bytes), StorageRequestClassifier.BatchTables(bytes));
        }

        return (new StreamContent(request.Body), []);
    }

    private void Count(StorageRequestKind kind, IReadOnlyList<string> batchTables)
    {
        _counts.AddOrUpdate(kind, 1, (_, n) => n + 1);
        foreach (var table in batchTables)
        {
            _batched.AddOrUpdate(table, 1, (_, n) => n + 1);
        }

        if (kind.Class == RequestClass.Sync)
        {
            Interlocked.Exchange(ref _lastCountedTicks, Stopwatch.GetTimestamp());
        }
    }
}
