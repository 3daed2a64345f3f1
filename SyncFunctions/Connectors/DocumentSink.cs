using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using SyncFunctions.Storage;

namespace SyncFunctions.Connectors;

/// <summary>
/// Where synced documents go: one blob per document (<c>{tenant}/{connector}/docs/{id}.json</c>,
/// replaced when it changes), and per sync a manifest of what changed
/// (<c>{tenant}/{connector}/manifests/{syncId}.json</c>) that the embedding step reads.
/// </summary>
public sealed class DocumentSink(SyncStorage storage)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private BlobContainerClient Container => storage.Documents;

    public static string DocumentBlobName(string tenantId, string connector, string documentId) => $"{tenantId}/{connector}/docs/{documentId}.json";

    public async Task WriteDocumentAsync(string tenantId, string connector, SyncDocument document, CancellationToken cancellationToken)
    {
        var blob = Container.GetBlobClient(DocumentBlobName(tenantId, connector, document.Id));
        await blob.UploadAsync(
            BinaryData.FromObjectAsJson(document, Json),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" } },
            cancellationToken).ConfigureAwait(false);
    }

    public async Task WriteManifestAsync(string tenantId, string connector, string syncId, IReadOnlyCollection<string> documentIds, CancellationToken cancellationToken)
    {
        var blob = Container.GetBlobClient($"{tenantId}/{connector}/manifests/{syncId}.json");
        var manifest = new { sync_id = syncId, connector, documents = documentIds };
        await blob.UploadAsync(
            BinaryData.FromObjectAsJson(manifest, Json),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" } },
            cancellationToken).ConfigureAwait(false);
    }
}
