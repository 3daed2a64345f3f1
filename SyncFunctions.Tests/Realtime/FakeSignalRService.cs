using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace SyncFunctions.Tests.Realtime;

public sealed record RecordedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Query, string? Authorization, string Body);

/// <summary>
/// A stand-in for Azure SignalR Service's data-plane REST API on loopback: it records each request and
/// answers as the service documents (202 for sends, 200 for group membership, a token for
/// :generateToken), so tests can check what the app sends without a real service.
/// </summary>
public sealed class FakeSignalRService : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeSignalRService(WebApplication app) => _app = app;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public Uri Endpoint { get; private set; } = null!;

    public static async Task<FakeSignalRService> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeSignalRService(app);
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var path = context.Request.Path.Value ?? "";
            fake.Requests.Enqueue(new RecordedRequest(
                context.Request.Method,
                path,
                context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString()),
                context.Request.Headers.Authorization.ToString(),
                body));
            if (path.EndsWith("/:send", StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status202Accepted;
            }
            else if (path.EndsWith("/:generateToken", StringComparison.Ordinal))
            {
                await context.Response.WriteAsJsonAsync(new { token = "service-issued-client-token" });
            }
            else if (context.Request.Method == "PUT" && path.Contains("/users/", StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status200OK;
            }
            else
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.Endpoint = new Uri(address);
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
