using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using SyncFunctions.Telemetry;

namespace SyncFunctions.Storage;

/// <summary>
/// Every table and container the app uses beside the Durable task hub, named once. A prefix (tests, side-by-side
/// deployments) keeps several apps apart on one storage account.
/// </summary>
public sealed class SyncStorage
{
    public SyncStorage(StorageSettings settings, StorageRequestCounter counter, StorageClientSetup? setup = null)
    {
        var credential = setup?.Credential ?? settings.Credential;
        var tableOptions = new TableClientOptions();
        var blobOptions = new BlobClientOptions();
        tableOptions.AddPolicy(counter.For("table"), HttpPipelinePosition.PerRetry);
        blobOptions.AddPolicy(counter.For("blob"), HttpPipelinePosition.PerRetry);
        if (setup?.Transport is { } transport)
        {
            tableOptions.Transport = transport;
            blobOptions.Transport = transport;
        }

        var tables = settings.ConnectionString is not null
            ? new TableServiceClient(settings.ConnectionString, tableOptions)
            : new TableServiceClient(settings.TableServiceUri, credential, tableOptions);
        var blobs = settings.ConnectionString is not null
            ? new BlobServiceClient(settings.ConnectionString, blobOptions)
            : new BlobServiceClient(settings.BlobServiceUri, credential, blobOptions);

        var p = settings.Prefix;
        Operations = tables.GetTableClient(p + "SyncOperations");
        Connections = tables.GetTableClient(p + "SyncConnections");
        ItemStates = tables.GetTableClient(p + "SyncItemStates");
        Checkpoints = tables.GetTableClient(p + "SyncCheckpoints");
        NotificationSettings = tables.GetTableClient(p + "SyncNotificationSettings");
        NotificationClaims = tables.GetTableClient(p + "SyncNotificationClaims");
        var containerPrefix = p.Length == 0 ? "" : p + "-";
        Documents = blobs.GetBlobContainerClient(containerPrefix + "sync-documents");
        KeyRing = blobs.GetBlobContainerClient(containerPrefix + "sync-keys");
        WorkLists = blobs.GetBlobContainerClient(containerPrefix + "sync-work");
    }

    public TableClient Operations { get; }

    public TableClient Connections { get; }

    public TableClient ItemStates { get; }

    /// <summary>Incremental-sync positions per tenant (PartitionKey) and connector (RowKey).</summary>
    public TableClient Checkpoints { get; }

    /// <summary>Per tenant: whether sync summaries are e-mailed, and to whom besides the trigger.</summary>
    public TableClient NotificationSettings { get; }

    /// <summary>One row per end-of-sync e-mail being sent right now (deleted once it is settled), so recovery is O(in flight).</summary>
    public TableClient NotificationClaims { get; }

    public BlobContainerClient Documents { get; }

    public BlobContainerClient KeyRing { get; }

    /// <summary>What each running sync's connectors detected, read by its batch and commit activities; deleted when the sync ends.</summary>
    public BlobContainerClient WorkLists { get; }

    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(
            Operations.CreateIfNotExistsAsync(cancellationToken),
            Connections.CreateIfNotExistsAsync(cancellationToken),
            ItemStates.CreateIfNotExistsAsync(cancellationToken),
            Checkpoints.CreateIfNotExistsAsync(cancellationToken),
            NotificationSettings.CreateIfNotExistsAsync(cancellationToken),
            NotificationClaims.CreateIfNotExistsAsync(cancellationToken),
            Documents.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            KeyRing.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            WorkLists.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
    }
}
