using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using SyncFunctions.Storage;

namespace SyncFunctions.Connectors;

/// <summary>A connector's incremental-sync position for one tenant, as JSON (at most about 30,000 characters).</summary>
public sealed class CheckpointEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Value { get; set; } = "{}";

    /// <summary>The sync that committed it.</summary>
    public string SyncId { get; set; } = "";

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// Checkpoints per tenant (PartitionKey) and connector (RowKey): a point read when a sync detects its
/// changes (and again in the commit of a connector that merges into it, its session being another), and
/// one write in <see cref="IConnectorSession.CommitAsync"/>, after every item was attempted.
/// </summary>
public sealed class CheckpointStore(SyncStorage storage, TimeProvider time)
{
    /// <summary>Table Storage keeps strings of up to 32K UTF-16 characters.</summary>
    public const int MaxLength = 30_000;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<T?> GetAsync<T>(string tenantId, string connector, CancellationToken cancellationToken)
        where T : class
    {
        var response = await storage.Checkpoints.GetEntityIfExistsAsync<CheckpointEntity>(tenantId, connector, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue && response.Value is { } entity ? JsonSerializer.Deserialize<T>(entity.Value, Json) : null;
    }

    public async Task SaveAsync<T>(string tenantId, string connector, string syncId, T checkpoint, CancellationToken cancellationToken)
    {
        var value = JsonSerializer.Serialize(checkpoint, Json);
        if (value.Length > MaxLength)
        {
            throw new InvalidOperationException($"The {connector} checkpoint is {value.Length} characters, above the {MaxLength} a table row holds.");
        }

        var entity = new CheckpointEntity
        {
            PartitionKey = tenantId,
            RowKey = connector,
            Value = value,
            SyncId = syncId,
            UpdatedAt = time.GetUtcNow(),
        };
        await storage.Checkpoints.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }
}
