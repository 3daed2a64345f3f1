using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using SyncFunctions.Connectors;
using SyncFunctions.Security;

namespace SyncFunctions.Api;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record PutConnectionRequest(Dictionary<string, JsonElement>? Settings, Dictionary<string, string>? Secrets);

/// <summary>A connection on the wire: settings, and the names (never the values) of its secrets.</summary>
public sealed record ConnectionDto(string Connector, IReadOnlyDictionary<string, JsonElement> Settings, IReadOnlyCollection<string> SecretNames, DateTimeOffset UpdatedAt);

public sealed record ConnectionsResponse(IReadOnlyList<ConnectionDto> Connections, IReadOnlyCollection<string> AvailableConnectors);

/// <summary>/api/v1/connections: a tenant's configured connectors. Secrets are write-only.</summary>
public sealed class ConnectionFunctions(ConnectionStore store, ConnectorRegistry registry)
{
    private const int MaxSettings = 50;
    private const int MaxValueLength = 4096;

    [Function("ListConnections")]
    public Task<IActionResult> ListFunctionAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/connections")] HttpRequest request) =>
        ApiFunction.ForCallerAsync(request, async caller => await ListAsync(caller, store, registry, request.HttpContext.RequestAborted).ConfigureAwait(false));

    /// <summary>Create or replace a connection; leaving secrets out keeps the stored ones.</summary>
    [Function("PutConnection")]
    public Task<IActionResult> PutFunctionAsync([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/v1/connections/{connector}")] HttpRequest request, string connector) =>
        ApiFunction.ForCallerAsync(request, async caller =>
        {
            var (body, problem) = await ApiFunction.ReadJsonAsync<PutConnectionRequest>(request).ConfigureAwait(false);
            return problem ?? (await PutAsync(connector, body, caller, store, registry, request.HttpContext.RequestAborted).ConfigureAwait(false)).Result;
        });

    [Function("DeleteConnection")]
    public Task<IActionResult> DeleteFunctionAsync([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/connections/{connector}")] HttpRequest request, string connector) =>
        ApiFunction.ForCallerAsync(request, async caller => (await DeleteAsync(connector, caller, store, request.HttpContext.RequestAborted).ConfigureAwait(false)).Result);

    private static ConnectionDto ToDto(ConnectorConnection c) => new(c.Connector, c.Settings.Values, c.SecretNames, c.UpdatedAt);

    private static async Task<Ok<ConnectionsResponse>> ListAsync(Caller caller, ConnectionStore store, ConnectorRegistry registry, CancellationToken cancellationToken)
    {
        var list = await store.ListAsync(caller.TenantId, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new ConnectionsResponse(list.Select(ToDto).ToList(), registry.Names.Order(StringComparer.Ordinal).ToList()));
    }

    private static async Task<Results<Ok<ConnectionDto>, ValidationProblem>> PutAsync(
        string connector, PutConnectionRequest? request, Caller caller, ConnectionStore store, ConnectorRegistry registry, CancellationToken cancellationToken)
    {
        if (!InputRules.IsValidConnectorName(connector))
        {
            return TypedResults.ValidationProblem(ApiProblems.InvalidConnectorName);
        }

        if (!registry.TryGet(connector, out var implementation))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["connector"] = [$"Unknown connector '{connector}'. Known: {string.Join(", ", registry.Names.Order(StringComparer.Ordinal))}."],
            });
        }

        if (request is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["Send {\"settings\": {...}, \"secrets\": {...}}."] });
        }

        var values = request.Settings ?? [];
        var secrets = request.Secrets ?? [];
        var errors = new Dictionary<string, string[]>();
        if (values.Count + secrets.Count > MaxSettings)
        {
            // One limit for both: name each that has entries, so the field to shorten is named.
            foreach (var field in new[] { (Field: "settings", values.Count), (Field: "secrets", secrets.Count) }.Where(f => f.Count > 0).Select(f => f.Field))
            {
                errors[field] = [$"At most {MaxSettings} settings and secrets together (this request has {values.Count + secrets.Count})."];
            }
        }

        foreach (var (name, value) in values)
        {
            if (name.Length is 0 or > 64 || name.Any(char.IsControl) || value.GetRawText().Length > MaxValueLength)
            {
                errors[$"settings.{Printable(name)}"] = [$"Setting names are 1 to 64 characters and values at most {MaxValueLength} characters of JSON."];
            }
        }

        foreach (var (name, value) in secrets)
        {
            if (name.Length is 0 or > 64 || name.Any(char.IsControl) || value is null || value.Length > MaxValueLength)
            {
                errors[$"secrets.{Printable(name)}"] = [$"Secret names are 1 to 64 characters and values strings of at most {MaxValueLength} characters."];
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (request.Secrets is null && await store.GetAsync(caller.TenantId, connector, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            // Secrets are write-only, so a client cannot send them back: leaving them out keeps them.
            secrets = new Dictionary<string, string>(existing.Settings.Secrets);
        }

        var settings = new ConnectorSettings(values, secrets);
        var invalid = implementation.Validate(settings);
        if (invalid.Count > 0)
        {
            return TypedResults.ValidationProblem(invalid);
        }

        var saved = await store.UpsertAsync(caller.TenantId, connector, settings, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(ToDto(saved));
    }

    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DeleteAsync(
        string connector, Caller caller, ConnectionStore store, CancellationToken cancellationToken)
    {
        if (!InputRules.IsValidConnectorName(connector))
        {
            return TypedResults.ValidationProblem(ApiProblems.InvalidConnectorName);
        }

        return await store.DeleteAsync(caller.TenantId, connector, cancellationToken).ConfigureAwait(false)
            ? TypedResults.NoContent()
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Connection not found", detail: $"This tenant has no '{connector}' connection.");
    }

    private static string Printable(string name) => new(name.Where(c => !char.IsControl(c)).Take(64).ToArray());
}
