using System.Text.Json;

namespace SyncFunctions.Configuration;

/// <summary>
/// Reads the <c>Values</c> of a Functions-style <c>local.settings.json</c>, so the file that Core Tools
/// would use also configures the server when it runs on its own.
/// </summary>
public static class LocalSettingsConfiguration
{
    public const string PathVariable = "SYNC_LOCAL_SETTINGS_FILE";

    /// <summary>Reads <c>SYNC_LOCAL_SETTINGS_FILE</c> when set (the run command points it at the repo's copy), else the content root's.</summary>
    public static IConfigurationBuilder AddLocalSettingsJson(this IConfigurationBuilder builder, string contentRoot)
    {
        var path = Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } explicitPath
            ? explicitPath
            : Path.Combine(contentRoot, "local.settings.json");
        if (!File.Exists(path))
        {
            return builder;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (document.RootElement.TryGetProperty("Values", out var section) && section.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in section.EnumerateObject())
            {
                // Functions settings use "__" for nesting, as environment variables do.
                values[property.Name.Replace("__", ":", StringComparison.Ordinal)] =
                    property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.GetRawText();
            }
        }

        return builder.AddInMemoryCollection(values);
    }
}
