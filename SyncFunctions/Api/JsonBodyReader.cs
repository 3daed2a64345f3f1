using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace SyncFunctions.Api;

/// <summary>
/// Reads a request's JSON body into its wire record and, when the body does not fit, names every field
/// that does not and why: malformed JSON, a value of the wrong JSON type (by its path, <c>connectors[1]</c>,
/// <c>secrets.token</c>), an unknown property. System.Text.Json alone stops at the first problem and words
/// it in .NET type names, so each property (and, when it fails, each of its items or values) is read on its own first.
/// </summary>
public static class JsonBodyReader
{
    private const int MaxFieldNameLength = 64;

    /// <summary>The body as <typeparamref name="T"/> (null for a JSON <c>null</c>), or the errors keyed by field.</summary>
    public static async Task<(T? Body, Dictionary<string, string[]>? Errors)> ReadAsync<T>(Stream body, JsonSerializerOptions options, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(options);
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(body, default, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            return (null, One("body", $"Not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})."));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Null)
            {
                return (null, null);
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, One("body", $"Expected a JSON object, not {Kind(root)}."));
            }

            var errors = Explain(root, options.GetTypeInfo(typeof(T)), options);
            if (errors.Count > 0)
            {
                return (null, errors);
            }

            try
            {
                return (root.Deserialize<T>(options), null);
            }
            catch (JsonException e)
            {
                // Each property read on its own, yet the whole does not: say where, as the serializer saw it.
                return (null, One(Printable(e.Path is { Length: > 1 } path ? path.TrimStart('$', '.') : "body"), "Not a value of the expected shape."));
            }
        }
    }

    private static Dictionary<string, string[]> Explain(JsonElement root, JsonTypeInfo info, JsonSerializerOptions options)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var known = info.Properties.Where(p => p.Set is not null || p.AssociatedParameter is not null).ToDictionary(p => p.Name, StringComparer.Ordinal);
        var disallowUnknown = (info.UnmappedMemberHandling ?? options.UnmappedMemberHandling) == JsonUnmappedMemberHandling.Disallow;
        foreach (var property in root.EnumerateObject())
        {
            if (!known.TryGetValue(property.Name, out var target))
            {
                if (disallowUnknown)
                {
                    errors[Printable(property.Name)] = [$"Unknown property. This body has: {string.Join(", ", known.Keys)}."];
                }

                continue;
            }

            Check(Printable(property.Name), target.PropertyType, property.Value, options, errors);
        }

        return errors;
    }

    /// <summary>
    /// Reads <paramref name="value"/> as <paramref name="type"/>; when that fails, looks into an array's
    /// items or an object's values so that each bad one is named (<c>connectors[1]</c>, <c>secrets.token</c>).
    /// </summary>
    private static void Check(string field, Type type, JsonElement value, JsonSerializerOptions options, Dictionary<string, string[]> errors)
    {
        try
        {
            value.Deserialize(type, options);
            return;
        }
        catch (JsonException)
        {
            // Said below, by field.
        }

        var before = errors.Count;
        if (ElementType(type) is { } element)
        {
            if (IsDictionary(type) && value.ValueKind == JsonValueKind.Object)
            {
                foreach (var entry in value.EnumerateObject())
                {
                    Check($"{field}.{Printable(entry.Name)}", element, entry.Value, options, errors);
                }
            }
            else if (!IsDictionary(type) && value.ValueKind == JsonValueKind.Array)
            {
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    Check($"{field}[{index++}]", element, item, options, errors);
                }
            }
        }

        if (errors.Count == before)
        {
            errors[field] = [$"Expected {Describe(type)}, not {Kind(value)}."];
        }
    }

    private static bool IsDictionary(Type type) =>
        type.GetInterfaces().Append(type).Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>));

    private static Type? ElementType(Type type)
    {
        if (type == typeof(string))
        {
            return null;
        }

        var dictionary = type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>));
        if (dictionary is not null)
        {
            return dictionary.GetGenericArguments()[1];
        }

        var enumerable = type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0];
    }

    private static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return "a string";
        }

        if (type == typeof(bool))
        {
            return "true or false";
        }

        if (type == typeof(int) || type == typeof(long))
        {
            return "a whole number";
        }

        if (type == typeof(JsonElement))
        {
            return "any JSON value";
        }

        var element = ElementType(type);
        if (element is null)
        {
            return "a JSON value of another shape";
        }

        return IsDictionary(type)
            ? $"an object whose values are each {Describe(element)}"
            : $"an array whose items are each {Describe(element)}";
    }

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static Dictionary<string, string[]> One(string field, string reason) => new(StringComparer.Ordinal) { [field] = [reason] };

    /// <summary>Field names come from the client: no control characters (they would break a log line), bounded.</summary>
    public static string Printable(string name) => new(name.Where(c => !char.IsControl(c)).Take(MaxFieldNameLength).ToArray());
}
