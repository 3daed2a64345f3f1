using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.OpenApi;

namespace SyncFunctions.Tests.Api;

/// <summary>What a request of the walk expects: success, a client error naming a field, or 401.</summary>
internal enum WalkExpectation
{
    Success,
    ClientError,
    Unauthenticated,
}

/// <summary>One request of the conformance walk, built from an operation's schemas.</summary>
internal sealed record WalkRequest(string Why, string Method, string Url, string? Body, string? ContentType, IReadOnlyDictionary<string, string> Headers, WalkExpectation Expect, string? Field = null)
{
    public bool Authenticated => Expect != WalkExpectation.Unauthenticated;

    public HttpRequestMessage ToMessage(string? token)
    {
        var message = new HttpRequestMessage(new HttpMethod(Method), Url);
        if (Body is not null)
        {
            message.Content = new StringContent(Body, Encoding.UTF8);
            message.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(ContentType ?? "application/json");
        }

        foreach (var (name, value) in Headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        if (Authenticated && token is not null)
        {
            message.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return message;
    }
}

/// <summary>
/// Builds, from one operation of the document, a valid request (examples and real ids), invalid ones
/// (each parameter and body property out of its schema: wrong type, out of range, against its pattern,
/// missing when required, unknown where additionalProperties is false; malformed JSON; another media
/// type) and, where the operation has security, an unauthenticated one.
/// </summary>
internal static class OpenApiWalk
{
    private const string Unknown = "unexpected_property";

    public static IReadOnlyList<WalkRequest> Requests(string path, string method, OpenApiOperation operation, IReadOnlyDictionary<string, string> ids)
    {
        var parameters = operation.Parameters ?? [];
        var pathValues = parameters.Where(p => p.In == ParameterLocation.Path)
            .ToDictionary(p => p.Name!, p => ids.TryGetValue(p.Name!, out var id) ? id : Example(p) ?? throw new InvalidOperationException($"No value for path parameter {p.Name} of {operation.OperationId}."));
        var optional = parameters.Where(p => p.In is ParameterLocation.Query or ParameterLocation.Header && Example(p) is not null)
            .ToDictionary(p => p.Name!, p => Example(p)!);
        var bodySchema = operation.RequestBody?.Content?.TryGetValue("application/json", out var media) == true ? media.Schema : null;
        var validBody = bodySchema is null ? null : ExampleOf(bodySchema)?.ToJsonString();

        WalkRequest Build(string why, WalkExpectation expect, string? field = null, IReadOnlyDictionary<string, string>? pathOverride = null,
            (IOpenApiParameter Parameter, string Value)? parameter = null, string? body = null, bool bodyGiven = false, string? contentType = null)
        {
            var url = path;
            foreach (var (name, value) in pathOverride ?? pathValues)
            {
                url = url.Replace("{" + name + "}", Uri.EscapeDataString(value), StringComparison.Ordinal);
            }

            var query = new List<string>();
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var p in parameters.Where(p => p.In is ParameterLocation.Query or ParameterLocation.Header))
            {
                string? value = parameter?.Parameter == p ? parameter.Value.Value : optional.GetValueOrDefault(p.Name!);
                if (value is null)
                {
                    continue;
                }

                if (p.In == ParameterLocation.Query)
                {
                    query.Add($"{Uri.EscapeDataString(p.Name!)}={Uri.EscapeDataString(value)}");
                }
                else
                {
                    headers[p.Name!] = value;
                }
            }

            var target = query.Count == 0 ? url : url + "?" + string.Join('&', query);
            return new WalkRequest(why, method, target, bodyGiven ? body : validBody, contentType, headers, expect, field);
        }

        var requests = new List<WalkRequest> { Build("valid", WalkExpectation.Success) };
        if (operation.Security is { Count: > 0 })
        {
            requests.Add(Build("no token", WalkExpectation.Unauthenticated));
        }

        foreach (var p in parameters)
        {
            foreach (var (why, value) in BadValues(p.Schema))
            {
                if (p.In == ParameterLocation.Path)
                {
                    requests.Add(Build($"path {p.Name}: {why}", WalkExpectation.ClientError, p.Name,
                        pathOverride: new Dictionary<string, string>(pathValues) { [p.Name!] = value }));
                }
                else
                {
                    requests.Add(Build($"{p.In} {p.Name}: {why}", WalkExpectation.ClientError, p.Name, parameter: (p, value)));
                }
            }
        }

        if (bodySchema is not null)
        {
            requests.Add(Build("malformed JSON", WalkExpectation.ClientError, "body", body: "{\"", bodyGiven: true));
            requests.Add(Build("a JSON array for an object", WalkExpectation.ClientError, "body", body: "[]", bodyGiven: true));
            requests.Add(Build("another media type", WalkExpectation.ClientError, body: validBody ?? "{}", bodyGiven: true, contentType: "text/plain"));
            if (operation.RequestBody!.Required)
            {
                requests.Add(Build("no body", WalkExpectation.ClientError, body: null, bodyGiven: true));
            }

            foreach (var (why, field, body) in BadBodies(bodySchema))
            {
                requests.Add(Build($"body: {why}", WalkExpectation.ClientError, field, body: body, bodyGiven: true));
            }
        }

        return requests;
    }

    /// <summary>Values a parameter's schema excludes: another type, out of range, against its pattern, too short or long.</summary>
    public static IEnumerable<(string Why, string Value)> BadValues(IOpenApiSchema? schema)
    {
        if (schema is null)
        {
            yield break;
        }

        var type = schema.Type ?? 0;
        if (type.HasFlag(JsonSchemaType.Integer) && !type.HasFlag(JsonSchemaType.String))
        {
            yield return ("not a number", "abc");
            yield return ("not a whole number", "1.5");
            if (Number(schema.Minimum) is { } min)
            {
                yield return ("below the minimum", (min - 1).ToString(CultureInfo.InvariantCulture));
            }

            if (Number(schema.Maximum) is { } max)
            {
                yield return ("above the maximum", (max + 1).ToString(CultureInfo.InvariantCulture));
            }
        }

        foreach (var bad in BadStrings(schema))
        {
            yield return bad;
        }
    }

    private static IEnumerable<(string Why, string Value)> BadStrings(IOpenApiSchema schema)
    {
        if (!(schema.Type ?? 0).HasFlag(JsonSchemaType.String))
        {
            yield break;
        }

        if (schema.Pattern is { } pattern)
        {
            var candidate = "Not valid!";
            Assert.DoesNotMatch(new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1)), candidate);
            yield return ("against its pattern", candidate);
        }

        if (schema.MinLength is > 0)
        {
            yield return ("shorter than its minimum", new string('a', schema.MinLength.Value - 1));
        }

        if (schema.MaxLength is { } maxLength)
        {
            yield return ("longer than its maximum", new string('a', maxLength + 1));
        }
    }

    /// <summary>The example body with one property made wrong at a time (the field it names), plus the body's own rules.</summary>
    private static IEnumerable<(string Why, string Field, string Body)> BadBodies(IOpenApiSchema bodySchema)
    {
        var schema = ObjectSchema(bodySchema);
        var example = ExampleOf(bodySchema) as JsonObject ?? [];
        string With(string name, JsonNode? value)
        {
            var copy = (JsonObject)example.DeepClone();
            copy[name] = value;
            return copy.ToJsonString();
        }

        foreach (var (name, property) in schema.Properties ?? new Dictionary<string, IOpenApiSchema>())
        {
            var type = property.Type ?? 0;
            yield return ($"{name} of another type", name, With(name, WrongTypeFor(type)));
            foreach (var (why, value) in BadStrings(property))
            {
                yield return ($"{name} {why}", name, With(name, value));
            }

            if (type.HasFlag(JsonSchemaType.Array) && property.Items is { } items)
            {
                yield return ($"{name} with an item of another type", name, With(name, new JsonArray(WrongTypeFor(items.Type ?? 0))));
                foreach (var (why, value) in BadStrings(items))
                {
                    yield return ($"{name} with an item {why}", name, With(name, new JsonArray(JsonValue.Create(value))));
                }

                if (property.MaxItems is { } maxItems && example[name] is JsonArray { Count: > 0 } sample)
                {
                    yield return ($"{name} with more items than its maximum", name,
                        With(name, new JsonArray(Enumerable.Range(0, maxItems + 1).Select(_ => sample[0]!.DeepClone()).ToArray())));
                }
            }

            if (type.HasFlag(JsonSchemaType.Object))
            {
                if (property.MaxProperties is { } maxProperties)
                {
                    var many = new JsonObject();
                    for (var i = 0; i <= maxProperties; i++)
                    {
                        many[$"k{i}"] = "v";
                    }

                    yield return ($"{name} with more properties than its maximum", name, With(name, many));
                }

                if (property.AdditionalProperties is { } values)
                {
                    yield return ($"{name} with a value of another type", name, With(name, new JsonObject { ["k"] = WrongTypeFor(values.Type ?? 0) }));
                    foreach (var (why, value) in BadStrings(values))
                    {
                        yield return ($"{name} with a value {why}", name, With(name, new JsonObject { ["k"] = value }));
                    }
                }
            }
        }

        foreach (var required in schema.Required ?? new HashSet<string>())
        {
            var copy = (JsonObject)example.DeepClone();
            copy.Remove(required);
            yield return ($"{required} missing", required, copy.ToJsonString());
        }

        if (!schema.AdditionalPropertiesAllowed || schema.AdditionalProperties is { Not: not null })
        {
            yield return ("an unknown property", Unknown, With(Unknown, 1));
        }
    }

    /// <summary>A JSON value of a type the schema does not allow.</summary>
    private static JsonNode? WrongTypeFor(JsonSchemaType allowed)
    {
        (JsonSchemaType Type, Func<JsonNode> Value)[] candidates =
        [
            (JsonSchemaType.Integer | JsonSchemaType.Number, () => JsonValue.Create(42)),
            (JsonSchemaType.Boolean, () => JsonValue.Create(true)),
            (JsonSchemaType.String, () => JsonValue.Create("text")),
            (JsonSchemaType.Array, () => new JsonArray()),
            (JsonSchemaType.Object, () => new JsonObject()),
        ];
        return candidates.First(c => (allowed & c.Type) == 0).Value();
    }

    /// <summary>The object a body schema describes, through a oneOf of null and a reference.</summary>
    private static IOpenApiSchema ObjectSchema(IOpenApiSchema schema) =>
        schema.OneOf?.FirstOrDefault(s => (s.Type ?? 0) != JsonSchemaType.Null) is { } alternative ? ObjectSchema(alternative) : schema;

    private static JsonNode? ExampleOf(IOpenApiSchema schema) => (schema.Examples?.FirstOrDefault() ?? ObjectSchema(schema).Examples?.FirstOrDefault())?.DeepClone();

    private static string? Example(IOpenApiParameter parameter) =>
        (parameter.Example ?? parameter.Schema?.Examples?.FirstOrDefault()) is { } node ? node.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString() : null;

    private static decimal? Number(object? value) =>
        Convert.ToString(value, CultureInfo.InvariantCulture) is { Length: > 0 } text ? decimal.Parse(text, CultureInfo.InvariantCulture) : null;
}
