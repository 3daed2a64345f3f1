using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;

namespace SyncFunctions.Tests.Infrastructure;

/// <summary>
/// A local stand-in for the Azure Communication Services e-mail REST API (2023-03-31) on Kestrel,
/// loopback, a free port: POST /emails:send answers 202 with an Operation-Location, and GET on that
/// URL answers Running (with Retry-After) once, then the configured terminal status. It records every
/// request, stamped with the given clock, so tests can check shapes and timing.
/// </summary>
public sealed class FakeAcsEmailServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<string, int> _polls = new();
    private int _sendFailuresLeft;

    private FakeAcsEmailServer(WebApplication app, TimeProvider clock)
    {
        _app = app;
        _clock = clock;
    }

    public Uri Endpoint { get; private set; } = null!;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>What a finished send reports: Succeeded, or Failed with <see cref="FailureCode"/>.</summary>
    public string TerminalStatus { get; set; } = "Succeeded";

    public string FailureCode { get; set; } = "EmailDropped";

    public IReadOnlyList<RecordedRequest> Sends => Requests.Where(r => r.Method == "POST").ToList();

    /// <summary>The next <paramref name="count"/> sends answer 503 with the given Retry-After.</summary>
    public void FailNextSends(int count) => Interlocked.Exchange(ref _sendFailuresLeft, count);

    public static async Task<FakeAcsEmailServer> StartAsync(TimeProvider? clock = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeAcsEmailServer(app, clock ?? TimeProvider.System);
        app.MapPost("/emails:send", (Delegate)server.SendAsync);
        app.MapGet("/emails/operations/{id}", (Delegate)server.Status);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Endpoint = new Uri(address);
        return server;
    }

    private async Task<IResult> SendAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        Requests.Enqueue(new RecordedRequest("POST", context.Request.Path + context.Request.QueryString, context.Request.Headers.Authorization.ToString(), body, _clock.GetUtcNow()));
        if (Interlocked.Decrement(ref _sendFailuresLeft) >= 0)
        {
            context.Response.Headers.RetryAfter = "1";
            return Results.Json(new { error = new { code = "ServiceUnavailable", message = "Try again later." } }, statusCode: 503);
        }

        var id = Guid.NewGuid().ToString();
        context.Response.Headers["Operation-Location"] = new Uri(Endpoint, $"emails/operations/{id}?api-version=2023-03-31").AbsoluteUri;
        context.Response.Headers.RetryAfter = "1";
        return Results.Json(new { id, status = "Running" }, statusCode: 202);
    }

    private IResult Status(string id, HttpContext context)
    {
        Requests.Enqueue(new RecordedRequest("GET", context.Request.Path + context.Request.QueryString, context.Request.Headers.Authorization.ToString(), "", _clock.GetUtcNow()));
        if (_polls.AddOrUpdate(id, 1, (_, n) => n + 1) == 1)
        {
            context.Response.Headers.RetryAfter = "1";
            return Results.Json(new { id, status = "Running" });
        }

        return TerminalStatus == "Succeeded"
            ? Results.Json(new { id, status = "Succeeded" })
            : Results.Json(new { id, status = TerminalStatus, error = new { code = FailureCode, message = "Email was dropped after several attempts to deliver." } });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed record RecordedRequest(string Method, string PathAndQuery, string Authorization, string Body, DateTimeOffset At)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement;
    }
}

/// <summary>A credential that hands out a fixed token and remembers the scopes it was asked for.</summary>
public sealed class FakeTokenCredential : Azure.Core.TokenCredential
{
    public const string Token = "fake-entra-token";

    public ConcurrentQueue<string> Scopes { get; } = new();

    public override Azure.Core.AccessToken GetToken(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        foreach (var scope in requestContext.Scopes)
        {
            Scopes.Enqueue(scope);
        }

        return new Azure.Core.AccessToken(Token, DateTimeOffset.UtcNow.AddHours(1));
    }

    public override ValueTask<Azure.Core.AccessToken> GetTokenAsync(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));
}
