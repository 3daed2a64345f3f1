using System.Text.Json.Nodes;
using NJsonSchema;

namespace SyncFunctions.Tests.Infrastructure;

/// <summary>
/// The official response shapes of the four SaaS APIs (copied under ApiShapes/, see its README), as
/// JSON Schemas: the response schema of one operation is lifted out of its document with the
/// document's definitions beside it, so the fakes can be checked against what the real services send.
/// </summary>
internal static class ApiShapes
{
    /// <summary>An OpenAPI 3 (GitHub, Box) operation's JSON response schema.</summary>
    public static Task<JsonSchema> OpenApiResponseAsync(string file, string path, string method, string status = "200")
    {
        var document = Load(file);
        var response = document["paths"]![path]![method]!["responses"]![status]!;
        var schema = response["content"]!["application/json"]!["schema"]!.DeepClone();
        return BuildAsync(schema, document["components"]!["schemas"]!.DeepClone(), "#/components/schemas/", relaxRoot: false);
    }

    /// <summary>A Swagger 2.0 (Slack) operation's response schema; <paramref name="relaxRoot"/> allows the documented gap.</summary>
    public static Task<JsonSchema> SwaggerResponseAsync(string file, string path, string method, string status = "200", bool relaxRoot = false)
    {
        var document = Load(file);
        var schema = document["paths"]![path]![method]!["responses"]![status]!["schema"]!.DeepClone();
        return BuildAsync(schema, document["definitions"]!.DeepClone(), "#/definitions/", relaxRoot);
    }

    /// <summary>A Google Discovery (Gmail) schema by name, e.g. <c>ListMessagesResponse</c>.</summary>
    public static Task<JsonSchema> DiscoverySchemaAsync(string file, string name)
    {
        var document = Load(file);
        var schema = new JsonObject { ["$ref"] = name };
        return BuildAsync(schema, document["schemas"]!.DeepClone(), "", relaxRoot: false);
    }

    /// <summary>The validation errors of a JSON text against a schema, as readable lines.</summary>
    public static IReadOnlyList<string> Errors(JsonSchema schema, string json) =>
        schema.Validate(json).Select(e => $"{e.Path}: {e.Kind} {e.Property}").ToList();

    /// <summary>
    /// An object of an OpenAPI component schema with every required property filled by type (strings,
    /// uris, times, zeros, nulls where allowed): a fake starts from it and sets the fields it cares about,
    /// so its answers carry everything the real API promises.
    /// </summary>
    public static JsonObject Sample(string file, string schemaName)
    {
        var schemas = Load(file)["components"]!["schemas"]!;
        return (JsonObject)SampleOf(schemas[schemaName]!, schemas, 0)!;
    }

    private static JsonNode? SampleOf(JsonNode schema, JsonNode schemas, int depth)
    {
        if (schema["$ref"] is JsonValue reference)
        {
            return SampleOf(schemas[reference.GetValue<string>().Split('/')[^1]]!, schemas, depth);
        }

        if (schema["nullable"] is JsonValue n && n.GetValue<bool>() && depth > 0)
        {
            return null;
        }

        if (schema["enum"] is JsonArray values && values.Count > 0)
        {
            return values[0]?.DeepClone();
        }

        if ((schema["oneOf"] ?? schema["anyOf"]) is JsonArray choices && choices.Count > 0)
        {
            return SampleOf(choices[0]!, schemas, depth);
        }

        if (schema["allOf"] is JsonArray parts)
        {
            var merged = new JsonObject();
            foreach (var part in parts)
            {
                if (SampleOf(part!, schemas, depth) is JsonObject o)
                {
                    foreach (var (key, value) in o.ToList())
                    {
                        o.Remove(key);
                        merged[key] = value;
                    }
                }
            }

            return merged;
        }

        var type = schema["type"]?.GetValue<string>() ?? (schema["properties"] is not null ? "object" : "string");
        var format = schema["format"]?.GetValue<string>();
        switch (type)
        {
            case "object":
                var result = new JsonObject();
                var properties = schema["properties"] as JsonObject;
                foreach (var name in (schema["required"] as JsonArray)?.Select(r => r!.GetValue<string>()) ?? [])
                {
                    result[name] = properties?[name] is { } property ? SampleOf(property, schemas, depth + 1) : "x";
                }

                return result;
            case "array":
                return new JsonArray();
            case "integer":
            case "number":
                return 1;
            case "boolean":
                return false;
            default:
                return format switch
                {
                    "uri" => "https://example.test/x",
                    "date-time" => "2024-01-01T00:00:00Z",
                    "email" => "someone@example.test",
                    _ => "x",
                };
        }
    }

    private static JsonNode Load(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "ApiShapes", file)))!;

    private static async Task<JsonSchema> BuildAsync(JsonNode schema, JsonNode definitions, string refPrefix, bool relaxRoot)
    {
        JsonObject root = schema is JsonObject o && o["$ref"] is null ? o : new JsonObject { ["allOf"] = new JsonArray(schema) };
        if (relaxRoot)
        {
            root["additionalProperties"] = true;
        }

        root["definitions"] = definitions;
        Normalize(root, refPrefix);
        return await JsonSchema.FromJsonAsync(root.ToJsonString());
    }

    /// <summary>
    /// Makes the dialects plain JSON Schema: references point into <c>definitions</c>; OpenAPI's
    /// <c>nullable</c> becomes a null type; Discovery's <c>id</c> (which JSON Schema would read as a base
    /// address) goes, and so does its <c>byte</c> format, which real responses fill with base64url.
    /// </summary>
    private static void Normalize(JsonNode? node, string refPrefix)
    {
        switch (node)
        {
            case JsonObject obj:
                if (obj["$ref"] is JsonValue reference && reference.TryGetValue<string>(out var target))
                {
                    obj["$ref"] = refPrefix.Length == 0 ? "#/definitions/" + target : target.Replace(refPrefix, "#/definitions/", StringComparison.Ordinal);
                }

                if (obj["id"] is JsonValue id && id.TryGetValue<string>(out _))
                {
                    obj.Remove("id");
                }

                // OpenAPI's discriminator only names which oneOf branch applies; oneOf itself still checks it.
                if (obj["discriminator"] is JsonObject discriminator && discriminator["propertyName"] is not null)
                {
                    obj.Remove("discriminator");
                }

                if (obj["format"] is JsonValue format && format.TryGetValue<string>(out var f) && f is "byte" or "int64" or "uint64" or "int32" or "uint32")
                {
                    obj.Remove("format");
                }

                if (obj["nullable"] is JsonValue nullable && nullable.TryGetValue<bool>(out var isNullable))
                {
                    obj.Remove("nullable");
                    if (isNullable)
                    {
                        if (obj["type"] is JsonValue type && type.TryGetValue<string>(out var typeName))
                        {
                            obj["type"] = new JsonArray(typeName, "null");
                            if (obj["enum"] is JsonArray values)
                            {
                                values.Add(null);
                            }
                        }
                        else
                        {
                            var inner = new JsonObject();
                            foreach (var key in obj.Select(p => p.Key).ToList())
                            {
                                var value = obj[key];
                                obj.Remove(key);
                                inner[key] = value;
                            }

                            obj["anyOf"] = new JsonArray(new JsonObject { ["type"] = "null" }, inner);
                            Normalize(inner, refPrefix);
                            return;
                        }
                    }
                }

                foreach (var (_, child) in obj.ToList())
                {
                    Normalize(child, refPrefix);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    Normalize(child, refPrefix);
                }

                break;
        }
    }
}
