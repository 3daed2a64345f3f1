using Microsoft.Extensions.Options;

namespace SyncFunctions.Connectors.Folder;

/// <summary>
/// The folder connector reads only below <c>FOLDER_CONNECTOR_ROOT</c>: a tenant names a path inside
/// it, never an arbitrary path on the server. Empty turns the connector off.
/// </summary>
public sealed class FolderConnectorOptions
{
    [ConfigurationKeyName("FOLDER_CONNECTOR_ROOT")]
    public string? Root { get; set; }

    [ConfigurationKeyName("FOLDER_CONNECTOR_MAX_TEXT_BYTES")]
    public int MaxTextBytes { get; set; } = 1024 * 1024;
}

public sealed class FolderConnectorOptionsValidator : IValidateOptions<FolderConnectorOptions>
{
    public ValidateOptionsResult Validate(string? name, FolderConnectorOptions options)
    {
        if (options.MaxTextBytes is < 1 or > 64 * 1024 * 1024)
        {
            return ValidateOptionsResult.Fail($"FOLDER_CONNECTOR_MAX_TEXT_BYTES must be between 1 and {64 * 1024 * 1024} (was {options.MaxTextBytes}).");
        }

        if (!string.IsNullOrEmpty(options.Root) && !Directory.Exists(options.Root))
        {
            return ValidateOptionsResult.Fail($"FOLDER_CONNECTOR_ROOT names a directory that does not exist ('{options.Root}').");
        }

        return ValidateOptionsResult.Success;
    }
}
