using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;

namespace SyncFunctions.Tests.Connectors.Fakes;

public sealed record FakeRequest(string Method, string Path, string Query, string? Authorization, string? IfNoneMatch, string Body);

public sealed record FakeResponse(string Path, int Status, string Body);

public enum FaultKind
{
    /// <summary>429 with Retry-After.</summary>
    RateLimited,

    /// <summary>500 with the API's error body.</summary>
    ServerError,

    /// <summary>Never answers (until the client gives up).</summary>
    Hang,

    /// <summary>401: the access token has expired.</summary>
    Unauthorized,
}

/// <summary>
/// Switches shared by the fakes: the next N requests whose path and query contain a fragment get a fault
/// instead of their answer. Each fake writes the fault in its own API's shape.
/// </summary>
public sealed class FaultPlan
{
    private readonly List<Rule> _rules = [];

    public int RetryAfterSeconds { get; set; } = 1;

    public void Add(FaultKind kind, string pathContains, int times = 1)
    {
        lock (_rules)
        {
            _rules.Add(new Rule(kind, pathContains) { Remaining = times });
        }
    }

    internal FaultKind? Take(string path)
    {
        lock (_rules)
        {
            var rule = _rules.FirstOrDefault(r => r.Remaining > 0 && path.Contains(r.PathContains, StringComparison.Ordinal));
            if (rule is null)
            {
                return null;
            }

            rule.Remaining--;
            return rule.Kind;
        }
    }

    private sealed record Rule(FaultKind Kind, string PathContains)
    {
        public int Remaining { get; set; }
    }
}

/// <summary>
/// A SaaS API stand-in on loopback Kestrel: it records every request and every JSON answer, applies
/// the <see cref="FaultPlan"/>, then lets the fake's routes answer in the real API's shapes.
/// </summary>
public sealed class FakeApi : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeApi(WebApplication app) => _app = app;

    public ConcurrentQueue<FakeRequest> Requests { get; } = new();

    public ConcurrentQueue<FakeResponse> Responses { get; } = new();

    public FaultPlan Faults { get; } = new();

    public Uri BaseAddress { get; private set; } = null!;

    public int Count(string pathContains) => Requests.Count(r => r.Path.Contains(pathContains, StringComparison.Ordinal));

    /// <param name="routes">The fake's endpoints.</param>
    /// <param name="writeFault">Writes a fault in the API's own error shape (status already set).</param>
    public static async Task<FakeApi> StartAsync(Action<WebApplication, FakeApi> routes, Func<HttpContext, FaultKind, Task> writeFault)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeApi(app);
        app.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
            var body = await reader.ReadToEndAsync();
            context.Request.Body.Position = 0;
            var path = context.Request.Path.Value ?? "";
            fake.Requests.Enqueue(new FakeRequest(
                context.Request.Method, path, context.Request.QueryString.Value ?? "", context.Request.Headers.Authorization.ToString(),
                context.Request.Headers.IfNoneMatch.ToString(), body));
            switch (fake.Faults.Take(path + context.Request.QueryString.Value))
            {
                case FaultKind.Hang:
                    await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                    return;
                case FaultKind.RateLimited:
                    context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                    context.Response.Headers.RetryAfter = fake.Faults.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    await writeFault(context, FaultKind.RateLimited);
                    return;
                case FaultKind.ServerError:
                    context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                    await writeFault(context, FaultKind.ServerError);
                    return;
                case FaultKind.Unauthorized:
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    await writeFault(context, FaultKind.Unauthorized);
                    return;
                default:
                    await next(context);
                    return;
            }
        });
        routes(app, fake);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return fake;
    }

    /// <summary>Writes and records a JSON answer (for the shape tests).</summary>
    public async Task JsonAsync(HttpContext context, object body, int status = StatusCodes.Status200OK)
    {
        var json = JsonSerializer.Serialize(body);
        Responses.Enqueue(new FakeResponse(context.Request.Path.Value ?? "", status, json));
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(json);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
