using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using SyncFunctions.Storage;

namespace SyncFunctions.Notifications;

/// <summary>A tenant's notification settings. A tenant that never saved any gets summaries, to its trigger only.</summary>
public sealed record NotificationSettings(bool Enabled, IReadOnlyList<string> Recipients, DateTimeOffset? UpdatedAt)
{
    public const int MaxRecipients = 20;

    public static NotificationSettings Default { get; } = new(true, [], null);
}

public sealed class NotificationSettingsEntity : ITableEntity
{
    public const string Key = "notifications";

    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = Key;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public bool Enabled { get; set; } = true;

    /// <summary>JSON array of addresses.</summary>
    public string Recipients { get; set; } = "[]";

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Per tenant (PartitionKey), one row: independent of any connection, so it outlives them.</summary>
public sealed class NotificationSettingsStore(SyncStorage storage, TimeProvider time)
{
    private TableClient Table => storage.NotificationSettings;

    public async Task<NotificationSettings> GetAsync(string tenantId, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<NotificationSettingsEntity>(tenantId, NotificationSettingsEntity.Key, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!response.HasValue || response.Value is not { } entity)
        {
            return NotificationSettings.Default;
        }

        return new NotificationSettings(entity.Enabled, JsonSerializer.Deserialize<List<string>>(entity.Recipients) ?? [], entity.UpdatedAt);
    }

    /// <summary>Last writer wins: the settings are one small document edited by people, not a state machine.</summary>
    public async Task<NotificationSettings> PutAsync(string tenantId, bool enabled, IReadOnlyList<string> recipients, CancellationToken cancellationToken)
    {
        var entity = new NotificationSettingsEntity
        {
            PartitionKey = tenantId,
            Enabled = enabled,
            Recipients = JsonSerializer.Serialize(recipients),
            UpdatedAt = time.GetUtcNow(),
        };
        await Table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        return new NotificationSettings(enabled, recipients, entity.UpdatedAt);
    }
}
