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
