using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using SyncFunctions.Telemetry;

namespace SyncFunctions.Storage;

/// <summary>
/// Every table, queue and container the app uses, named once. A prefix (tests, side-by-side
/// deployments) keeps several apps apart on one storage account.
/// </summary>
public sealed class SyncStorage
{
    public const string RunQueueName = "sync-runs";

    public SyncStorage(StorageSettings settings, StorageRequestCounter counter, StorageClientSetup? setup = null)
    {
        var credential = setup?.Credential ?? settings.Credential;
        var tableOptions = new TableClientOptions();
        var queueOptions = new QueueClientOptions
        {
            // The Functions queue trigger reads Base64 by default; the local listener must agree with it.
            MessageEncoding = QueueMessageEncoding.Base64,
        };
        var blobOptions = new BlobClientOptions();
        tableOptions.AddPolicy(counter.For("table"), HttpPipelinePosition.PerRetry);
        queueOptions.AddPolicy(counter.For("queue"), HttpPipelinePosition.PerRetry);
        blobOptions.AddPolicy(counter.For("blob"), HttpPipelinePosition.PerRetry);
        if (setup?.Transport is { } transport)
        {
            tableOptions.Transport = transport;
            queueOptions.Transport = transport;
            blobOptions.Transport = transport;
        }

        var tables = settings.ConnectionString is not null
            ? new TableServiceClient(settings.ConnectionString, tableOptions)
            : new TableServiceClient(settings.TableServiceUri, credential, tableOptions);
        var queues = settings.ConnectionString is not null
            ? new QueueServiceClient(settings.ConnectionString, queueOptions)
            : new QueueServiceClient(settings.QueueServiceUri, credential, queueOptions);
        var blobs = settings.ConnectionString is not null
            ? new BlobServiceClient(settings.ConnectionString, blobOptions)
            : new BlobServiceClient(settings.BlobServiceUri, credential, blobOptions);

        var p = settings.Prefix;
        Operations = tables.GetTableClient(p + "SyncOperations");
        Locks = tables.GetTableClient(p + "SyncLocks");
        Connections = tables.GetTableClient(p + "SyncConnections");
        ItemStates = tables.GetTableClient(p + "SyncItemStates");
        Checkpoints = tables.GetTableClient(p + "SyncCheckpoints");
        NotificationSettings = tables.GetTableClient(p + "SyncNotificationSettings");
        NotificationClaims = tables.GetTableClient(p + "SyncNotificationClaims");
        var queuePrefix = p.Length == 0 ? "" : p + "-";
        RunQueue = queues.GetQueueClient(queuePrefix + RunQueueName);
        PoisonQueue = queues.GetQueueClient(queuePrefix + RunQueueName + "-poison");
        Documents = blobs.GetBlobContainerClient(queuePrefix + "sync-documents");
        KeyRing = blobs.GetBlobContainerClient(queuePrefix + "sync-keys");
    }

    public TableClient Operations { get; }

    /// <summary>One row per tenant holding a sync; it doubles as the index of active operations.</summary>
    public TableClient Locks { get; }

    public TableClient Connections { get; }

    public TableClient ItemStates { get; }

    /// <summary>Incremental-sync positions per tenant (PartitionKey) and connector (RowKey).</summary>
    public TableClient Checkpoints { get; }

    /// <summary>Per tenant: whether sync summaries are e-mailed, and to whom besides the trigger.</summary>
    public TableClient NotificationSettings { get; }

    /// <summary>One row per end-of-sync e-mail being sent right now (deleted once it is settled), so recovery is O(in flight).</summary>
    public TableClient NotificationClaims { get; }

    public QueueClient RunQueue { get; }

    public QueueClient PoisonQueue { get; }

    public BlobContainerClient Documents { get; }

    public BlobContainerClient KeyRing { get; }

    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(
            Operations.CreateIfNotExistsAsync(cancellationToken),
            Locks.CreateIfNotExistsAsync(cancellationToken),
            Connections.CreateIfNotExistsAsync(cancellationToken),
            ItemStates.CreateIfNotExistsAsync(cancellationToken),
            Checkpoints.CreateIfNotExistsAsync(cancellationToken),
            NotificationSettings.CreateIfNotExistsAsync(cancellationToken),
            NotificationClaims.CreateIfNotExistsAsync(cancellationToken),
            RunQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            PoisonQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            Documents.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            KeyRing.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
    }
}
