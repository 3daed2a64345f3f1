using System.IdentityModel.Tokens.Jwt;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace SyncFunctions.Realtime;

/// <summary>
/// The parts of Azure SignalR Service's data-plane REST API (serverless mode) this app uses: send to a
/// group, add a user to a group, and a client token. Requests carry an Entra token for
/// https://signalr.azure.com, or, with an access key, a JWT signed with it whose audience is the URL.
/// </summary>
public sealed class SignalRServiceClient(HttpClient http, IOptions<SignalRServiceOptions> options, TokenCredential credential, TimeProvider time)
{
    private static readonly string[] Scopes = ["https://signalr.azure.com/.default"];
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private SignalRServiceOptions Options => options.Value;

    private string Endpoint => Options.ResolvedEndpoint!.ToString().TrimEnd('/');

    /// <summary>Where a client connects: the negotiate response redirects it here.</summary>
    public string ClientUrl => $"{Endpoint}/client/?hub={Options.Hub}";

    public async Task SendToGroupAsync(string group, string target, object argument, CancellationToken cancellationToken)
    {
        var path = $"/api/hubs/{Options.Hub}/groups/{Uri.EscapeDataString(group)}/:send";
        using var request = await CreateAsync(HttpMethod.Post, path, "", cancellationToken).ConfigureAwait(false);
        // The SignalR payload: the hub method the client listens to and its arguments (snake_case, as the API's JSON).
        var body = JsonSerializer.Serialize(new { target, arguments = new[] { argument } }, Json);
        request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "send to group", cancellationToken).ConfigureAwait(false);
    }

    public async Task AddUserToGroupAsync(string group, string userId, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var path = $"/api/hubs/{Options.Hub}/groups/{Uri.EscapeDataString(group)}/users/{Uri.EscapeDataString(userId)}";
        using var request = await CreateAsync(HttpMethod.Put, path, $"&ttl={(int)ttl.TotalSeconds}", cancellationToken).ConfigureAwait(false);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "add user to group", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A token a client presents to the service: signed locally with the access key, or issued by the service.</summary>
    public async Task<string> GenerateClientTokenAsync(string userId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        if (Options.AccessKey is { } key)
        {
            return Sign(key, ClientUrl, lifetime, userId);
        }

        var path = $"/api/hubs/{Options.Hub}/:generateToken";
        var query = $"&userId={Uri.EscapeDataString(userId)}&minutesToExpire={(int)Math.Ceiling(lifetime.TotalMinutes)}";
        using var request = await CreateAsync(HttpMethod.Post, path, query, cancellationToken).ConfigureAwait(false);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "generate a client token", cancellationToken).ConfigureAwait(false);
        var token = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false);
        return token.GetProperty("token").GetString() ?? throw new InvalidOperationException("Azure SignalR Service returned no token.");
    }

    private async Task<HttpRequestMessage> CreateAsync(HttpMethod method, string path, string extraQuery, CancellationToken cancellationToken)
    {
        var url = $"{Endpoint}{path}";
        var request = new HttpRequestMessage(method, $"{url}?api-version={SignalRServiceOptions.ApiVersion}{extraQuery}");
        var bearer = Options.AccessKey is { } key
            ? Sign(key, url, TimeSpan.FromMinutes(5), userId: null)
            : (await credential.GetTokenAsync(new TokenRequestContext(Scopes), cancellationToken).ConfigureAwait(false)).Token;
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return request;
    }

    private string Sign(string key, string audience, TimeSpan lifetime, string? userId)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var claims = userId is null ? null : new[] { new Claim("nameid", userId) }; // the claim the service reads the user id from
        var token = new JwtSecurityToken(
            issuer: null,
            audience: audience,
            claims: claims,
            notBefore: now.AddMinutes(-1),
            expires: now + lifetime,
            signingCredentials: new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256));
        return new JwtSecurityTokenHandler().WriteToken(token);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new HttpRequestException($"Azure SignalR Service refused to {what}: {(int)response.StatusCode} {body[..Math.Min(body.Length, 300)]}", null, response.StatusCode);
        }
    }
}

/// <summary>Publishes through Azure SignalR Service: reaches clients wherever they connected.</summary>
public sealed partial class SignalRServicePublisher(SignalRServiceClient client, ILogger<SignalRServicePublisher> logger) : IProgressPublisher
{
    public async Task PublishAsync(string tenantId, string syncId, IReadOnlyList<Progress.SyncEvent> events, CancellationToken cancellationToken)
    {
        foreach (var e in events)
        {
            foreach (var group in new[] { ProgressGroups.Tenant(tenantId), ProgressGroups.Sync(tenantId, syncId) })
            {
                try
                {
                    await client.SendToGroupAsync(group, e.Type, e.Data, cancellationToken).ConfigureAwait(false);
                }
                catch (HttpRequestException ex)
                {
                    LogPublishFailed(logger, ex, e.Type, syncId, group);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing {EventType} of sync {SyncId} to group {Group} through Azure SignalR Service failed")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, string eventType, string syncId, string group);
}
