using System.Globalization;
using System.Text.Json;

namespace SyncFunctions.Connectors;

/// <summary>A connection's settings (JSON values) and secrets (strings), with typed readers.</summary>
public sealed class ConnectorSettings(IReadOnlyDictionary<string, JsonElement> values, IReadOnlyDictionary<string, string> secrets)
{
    public static readonly ConnectorSettings Empty = new(new Dictionary<string, JsonElement>(), new Dictionary<string, string>());

    public IReadOnlyDictionary<string, JsonElement> Values { get; } = values;

    public IReadOnlyDictionary<string, string> Secrets { get; } = secrets;

    public bool Has(string name) => Values.ContainsKey(name);

    public string? GetString(string name) =>
        Values.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public long? GetInteger(string name) =>
        Values.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    public string? GetSecret(string name) => Secrets.TryGetValue(name, out var value) ? value : null;

    /// <summary>Adds an error when a present setting is not a whole number in [min, max].</summary>
    public void RequireIntegerInRange(string name, long min, long max, IDictionary<string, string[]> errors)
    {
        if (!Values.TryGetValue(name, out var value))
        {
            return;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number) || number < min || number > max)
        {
            errors[$"settings.{name}"] = [string.Create(CultureInfo.InvariantCulture, $"'{name}' must be a whole number from {min} to {max}.")];
        }
    }

    /// <summary>The setting as a list of strings (a JSON array of strings), or null when absent or not one.</summary>
    public IReadOnlyList<string>? GetStringArray(string name) =>
        Values.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
            ? value.EnumerateArray().Select(e => e.GetString()!).ToList()
            : null;

    /// <summary>
    /// An absolute http(s) address from the setting, or the default when the setting is absent; a base
    /// address (<paramref name="isBase"/>) ends with a slash, so relative paths resolve below it.
    /// </summary>
    public Uri GetHttpUri(string name, Uri defaultValue, bool isBase = true) =>
        GetString(name) is { Length: > 0 } text && Uri.TryCreate(text, UriKind.Absolute, out var uri) ? (isBase ? WithTrailingSlash(uri) : uri) : defaultValue;

    /// <summary>Adds an error when a present setting is not an absolute http or https address.</summary>
    public void RequireHttpUrl(string name, IDictionary<string, string[]> errors)
    {
        if (!Values.ContainsKey(name))
        {
            return;
        }

        if (GetString(name) is not { Length: > 0 and <= 2048 } text
            || !Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            errors[$"settings.{name}"] = [$"'{name}' must be an absolute http or https address without credentials, query or fragment."];
        }
    }

    /// <summary>Adds an error for each named secret that is missing or blank.</summary>
    public void RequireSecrets(IDictionary<string, string[]> errors, params string[] names)
    {
        foreach (var name in names.Where(n => string.IsNullOrWhiteSpace(GetSecret(n))))
        {
            errors[$"secrets.{name}"] = [$"The secret '{name}' is required."];
        }
    }

    private static Uri WithTrailingSlash(Uri uri) =>
        uri.AbsolutePath.EndsWith('/') ? uri : new Uri(uri.GetLeftPart(UriPartial.Path) + "/");

    /// <summary>Adds an error for every setting the connector does not know, so a typo is not silently ignored.</summary>
    public void RejectUnknown(IReadOnlyCollection<string> known, IReadOnlyCollection<string> knownSecrets, IDictionary<string, string[]> errors)
    {
        foreach (var name in Values.Keys.Where(k => !known.Contains(k)))
        {
            errors[$"settings.{name}"] = [$"Unknown setting '{name}'. Known: {string.Join(", ", known)}."];
        }

        foreach (var name in Secrets.Keys.Where(k => !knownSecrets.Contains(k)))
        {
            errors[$"secrets.{name}"] = [knownSecrets.Count == 0 ? "This connector takes no secrets." : $"Unknown secret '{name}'. Known: {string.Join(", ", knownSecrets)}."];
        }
    }
}
