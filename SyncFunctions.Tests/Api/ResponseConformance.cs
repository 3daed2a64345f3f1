using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NJsonSchema;

namespace SyncFunctions.Tests.Api;

/// <summary>
/// The served document's responses as JSON Schema: each body schema with the document's component
/// schemas beside it (as <c>definitions</c>, where NJsonSchema resolves references), compiled once.
/// </summary>
internal sealed class DocumentSchemas
{
    private const string ComponentSchemas = "#/components/schemas/";
    private readonly JsonObject _document;
    private readonly string _definitions;
    private readonly ConcurrentDictionary<string, Task<JsonSchema>> _compiled = new(StringComparer.Ordinal);

    public DocumentSchemas(string document)
    {
        _document = JsonNode.Parse(document)!.AsObject();
        _definitions = _document["components"]!["schemas"]!.ToJsonString().Replace(ComponentSchemas, "#/definitions/", StringComparison.Ordinal);
    }

    /// <summary>The documented response of an operation for a status, through a $ref to the shared responses.</summary>
    public JsonObject? Response(string path, string method, string status)
    {
        var response = _document["paths"]?[path]?[method.ToLowerInvariant()]?["responses"]?[status]?.AsObject();
        if (response?["$ref"]?.GetValue<string>() is { } reference)
        {
            response = _document["components"]!["responses"]![reference[(reference.LastIndexOf('/') + 1)..]]!.AsObject();
        }

        return response;
    }

    /// <summary>The errors of <paramref name="json"/> against <paramref name="schema"/> (a schema of the document); none when it validates.</summary>
    public async Task<IReadOnlyList<string>> ValidateAsync(JsonNode schema, string json)
    {
        var text = schema.ToJsonString().Replace(ComponentSchemas, "#/definitions/", StringComparison.Ordinal);
        var compiled = await _compiled.GetOrAdd(text, t => JsonSchema.FromJsonAsync($"{{\"allOf\": [{t}], \"definitions\": {_definitions}}}"));
        return compiled.Validate(json).Select(e => e.ToString()).ToList();
    }

    public Task<IReadOnlyList<string>> ValidateAgainstComponentAsync(string component, string json) =>
        ValidateAsync(new JsonObject { ["$ref"] = ComponentSchemas + component }, json);
}

/// <summary>Checks one answer of the walk against the document: its status, media type, headers and body.</summary>
internal static class ResponseConformance
{
    private static readonly TimeSpan StreamReadLimit = TimeSpan.FromSeconds(10);

    public static async Task<IReadOnlyList<string>> CheckAsync(WalkRequest request, HttpResponseMessage response, string path, IReadOnlyCollection<string> documentedStatuses, DocumentSchemas schemas)
    {
        var failures = new List<string>();
        var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        var body = mediaType == "text/event-stream" ? await FirstBytesAsync(response) : await response.Content.ReadAsStringAsync();
        var what = $"{request.Method} {request.Url} ({request.Why}) answered {status} {mediaType}: {Shorten(body)}";

        var expected = request.Expect switch
        {
            WalkExpectation.Success => response.IsSuccessStatusCode,
            WalkExpectation.Unauthenticated => status == "401",
            _ => status == (request.ContentType is null || request.ContentType.EndsWith("json", StringComparison.Ordinal) ? "400" : "415"),
        };
        if (!expected)
        {
            failures.Add($"{what}: expected {request.Expect}");
        }

        if (!documentedStatuses.Contains(status) && !documentedStatuses.Contains("default"))
        {
            failures.Add($"{what}: status {status} is not documented (documented: {string.Join(", ", documentedStatuses)})");
            return failures;
        }

        var documented = schemas.Response(path, request.Method, documentedStatuses.Contains(status) ? status : "default")!;
        foreach (var (name, header) in documented["headers"]?.AsObject() ?? [])
        {
            if (header?["required"]?.GetValue<bool>() == true && !response.Headers.Contains(name) && !response.Content.Headers.Contains(name))
            {
                failures.Add($"{what}: the documented header {name} is missing");
            }
        }

        var content = documented["content"]?.AsObject();
        if (content is null || content.Count == 0)
        {
            if (body.Length > 0)
            {
                failures.Add($"{what}: a body where the document lists none");
            }

            return failures;
        }

        if (mediaType is null || !content.ContainsKey(mediaType))
        {
            failures.Add($"{what}: media type {mediaType ?? "(none)"} is not documented (documented: {string.Join(", ", content.Select(c => c.Key))})");
            return failures;
        }

        if (mediaType == "text/event-stream")
        {
            if (!(body.StartsWith("id:", StringComparison.Ordinal) || body.StartsWith(':') || body.StartsWith("event:", StringComparison.Ordinal) || body.StartsWith("retry:", StringComparison.Ordinal)))
            {
                failures.Add($"{what}: the stream does not start with a Server-Sent Events field");
            }
        }
        else if (mediaType.EndsWith("json", StringComparison.Ordinal) && content[mediaType]?["schema"] is { } schema)
        {
            foreach (var error in await schemas.ValidateAsync(schema, body))
            {
                failures.Add($"{what}: does not validate: {error}");
            }
        }

        if (request.Expect == WalkExpectation.ClientError && request.Field is { } field && status == "400" && !NamesField(body, field))
        {
            failures.Add($"{what}: the problem's errors do not name {field}");
        }

        return failures;
    }

    /// <summary>errors has the field itself, or a path below it (connectors[1], settings.items); path parameters by their snake_case name.</summary>
    private static bool NamesField(string body, string field)
    {
        using var problem = JsonDocument.Parse(body);
        if (!problem.RootElement.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var names = new[] { field, Snake(field) };
        return errors.EnumerateObject().Any(e => names.Any(n => e.Name == n || e.Name.StartsWith(n + "[", StringComparison.Ordinal) || e.Name.StartsWith(n + ".", StringComparison.Ordinal)));
    }

    private static string Snake(string name) => string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    /// <summary>The start of a stream, bounded in size and time; the caller drops the response.</summary>
    private static async Task<string> FirstBytesAsync(HttpResponseMessage response)
    {
        using var timeout = new CancellationTokenSource(StreamReadLimit);
        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
        var buffer = new byte[256];
        var read = await stream.ReadAtLeastAsync(buffer, 8, throwOnEndOfStream: false, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    private static string Shorten(string text) => text.Length > 400 ? text[..400] + "…" : text;

    public static MediaTypeHeaderValue Json { get; } = new("application/json");
}
