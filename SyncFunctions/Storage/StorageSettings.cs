using Azure.Core;
using Azure.Identity;

namespace SyncFunctions.Storage;

/// <summary>
/// The storage account, read from the same settings the Functions host uses: either the
/// <c>AzureWebJobsStorage</c> connection string or, keyless, <c>AzureWebJobsStorage__accountName</c>
/// (or the three service URIs) with <c>__credential=managedidentity</c> and <c>__clientId</c>.
/// </summary>
public sealed record StorageSettings(
    string? ConnectionString,
    Uri? TableServiceUri,
    Uri? QueueServiceUri,
    Uri? BlobServiceUri,
    TokenCredential? Credential,
    string Prefix)
{
    public const string SettingName = "AzureWebJobsStorage";
    public const string PrefixSettingName = "SYNC_STORAGE_PREFIX";

    public static StorageSettings FromConfiguration(IConfiguration configuration)
    {
        var prefix = configuration[PrefixSettingName] ?? "";
        if (prefix.Length > 20 || !prefix.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)) || (prefix.Length > 0 && !char.IsAsciiLetterLower(prefix[0])))
        {
            throw new InvalidOperationException($"{PrefixSettingName} must be at most 20 lowercase letters or digits, starting with a letter (was '{prefix}').");
        }

        var section = configuration.GetSection(SettingName);
        var accountName = section["accountName"];
        var tableUri = ReadUri(section, "tableServiceUri");
        var queueUri = ReadUri(section, "queueServiceUri");
        var blobUri = ReadUri(section, "blobServiceUri");
        if (accountName is not null || tableUri is not null || queueUri is not null || blobUri is not null)
        {
            if (accountName is not null && !accountName.All(char.IsAsciiLetterOrDigit))
            {
                throw new InvalidOperationException($"{SettingName}__accountName is not a storage account name (was '{accountName}').");
            }

            tableUri ??= accountName is null ? null : new Uri($"https://{accountName}.table.core.windows.net");
            queueUri ??= accountName is null ? null : new Uri($"https://{accountName}.queue.core.windows.net");
            blobUri ??= accountName is null ? null : new Uri($"https://{accountName}.blob.core.windows.net");
            if (tableUri is null || queueUri is null || blobUri is null)
            {
                throw new InvalidOperationException($"Set {SettingName}__accountName, or all of {SettingName}__tableServiceUri, __queueServiceUri and __blobServiceUri.");
            }

            return new StorageSettings(null, tableUri, queueUri, blobUri, CreateCredential(section), prefix);
        }

        var connectionString = section.Value;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            connectionString = "UseDevelopmentStorage=true";
        }

        return new StorageSettings(connectionString, null, null, null, null, prefix);
    }

    private static Uri? ReadUri(IConfigurationSection section, string key)
    {
        var value = section[key];
        if (value is null)
        {
            return null;
        }

        return Uri.TryCreate(value, UriKind.Absolute, out var uri)
            ? uri
            : throw new InvalidOperationException($"{SettingName}__{key} is not an absolute URI (was '{value}').");
    }

    private static TokenCredential CreateCredential(IConfigurationSection section)
    {
        var clientId = section["clientId"];
        return string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(clientId is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
    }
}
