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

    /// <summary>
    /// Deletes the rows; rows already gone are fine. At-least-once: a redelivered commit deletes again, and a
    /// transaction naming a missing row fails as a whole, so that chunk is deleted row by row instead.
    /// </summary>
    public async Task DeleteAsync(string tenantId, string connector, IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var partition = PartitionFor(tenantId, connector);
        foreach (var chunk in keys.Chunk(BatchSize))
        {
            try
            {
                await Table.SubmitTransactionAsync(
                    chunk.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, k) { ETag = ETag.All })),
                    cancellationToken).ConfigureAwait(false);
            }
            catch (TableTransactionFailedException e) when (e.Status == 404)
            {
                foreach (var key in chunk)
                {
                    await Table.DeleteEntityAsync(partition, key, ETag.All, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task SubmitAsync(IEnumerable<TableTransactionAction> actions, CancellationToken cancellationToken)
    {
        foreach (var batch in actions.Chunk(BatchSize))
        {
            await Table.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
        }
    }
}
