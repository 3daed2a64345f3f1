using Azure;
using Azure.Data.Tables;
using SyncFunctions.Storage;

namespace SyncFunctions.Connectors;

/// <summary>What was last synced of one item: enough to tell next time whether it changed.</summary>
public sealed class ItemStateEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    /// <summary>The item's own name (a relative path, say); the row key is a hash of it.</summary>
    public string Name { get; set; } = "";

    public long Size { get; set; }

    public DateTimeOffset ModifiedAt { get; set; }

    public string ContentHash { get; set; } = "";

    public string SyncId { get; set; } = "";
}

/// <summary>
/// Item states per tenant and connector (one partition each), written in entity-group transactions
/// of up to 100 rows, so committing a large sync costs one request per hundred items.
/// </summary>
public sealed class ItemStateStore(SyncStorage storage)
{
    private const int BatchSize = 100;

    private TableClient Table => storage.ItemStates;

    public static string PartitionFor(string tenantId, string connector) => tenantId + "~" + connector;

    public async Task<Dictionary<string, ItemStateEntity>> LoadAsync(string tenantId, string connector, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {PartitionFor(tenantId, connector)}");
        var states = new Dictionary<string, ItemStateEntity>(StringComparer.Ordinal);
        await foreach (var entity in Table.QueryAsync<ItemStateEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            states[entity.RowKey] = entity;
        }

        return states;
    }

    public Task SaveAsync(string tenantId, string connector, IEnumerable<ItemStateEntity> states, CancellationToken cancellationToken)
    {
        var partition = PartitionFor(tenantId, connector);
        return SubmitAsync(states.Select(s =>
        {
            s.PartitionKey = partition;
            return new TableTransactionAction(TableTransactionActionType.UpsertReplace, s);
        }), cancellationToken);
    }

    public Task DeleteAsync(string tenantId, string connector, IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var partition = PartitionFor(tenantId, connector);
        return SubmitAsync(
            keys.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, k) { ETag = ETag.All })),
            cancellationToken);
    }

    private async Task SubmitAsync(IEnumerable<TableTransactionAction> actions, CancellationToken cancellationToken)
    {
        foreach (var batch in actions.Chunk(BatchSize))
        {
            await Table.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
        }
    }
}
