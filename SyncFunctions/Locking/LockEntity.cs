using Azure;
using Azure.Data.Tables;

namespace SyncFunctions.Locking;

/// <summary>The lock row of one tenant: PartitionKey = tenant, RowKey = <see cref="TableTenantLock.RowKey"/>.</summary>
public sealed class LockEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = TableTenantLock.RowKey;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string HolderId { get; set; } = "";

    public DateTimeOffset AcquiredAt { get; set; }

    /// <summary>Null until the holder's first heartbeat.</summary>
    public DateTimeOffset? HeartbeatAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }
}
