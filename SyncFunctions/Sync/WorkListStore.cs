using System.Text.Json;
using Azure;
using Azure.Storage.Blobs.Models;
using SyncFunctions.Connectors;
using SyncFunctions.Storage;

namespace SyncFunctions.Sync;

/// <summary>
/// A connector's detected change set, kept between a sync's activities in one blob per sync and connector
/// (<c>{tenant}/{sync}/{connector}.json</c>), so the orchestration's history holds counts, not work lists.
/// </summary>
public sealed class WorkListStore(SyncStorage storage)
{
    /// <summary>
    /// Keeps the first change set recorded for the connector and returns the one kept. At-least-once: a
    /// redelivered detection finds the first delivery's list and works on that, so the item count the
    /// orchestration was told and the list the batches read are always the same.
    /// </summary>
    public async Task<ChangeSet> KeepFirstAsync(string tenantId, string syncId, string connector, ChangeSet detected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(detected);
        var blob = storage.WorkLists.GetBlobClient(Name(tenantId, syncId, connector));
        var document = WorkListDocument.From(detected);
        try
        {
            await blob.UploadAsync(BinaryData.FromObjectAsJson(document, ConnectorJson.Options),
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken).ConfigureAwait(false);
            return detected;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            return await GetAsync(tenantId, syncId, connector, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The work list of {connector} for sync {syncId} vanished while it was written.", e);
        }
    }

    /// <summary>The change set detection kept, or null when there is none (the sync has ended and its lists are gone).</summary>
    public async Task<ChangeSet?> GetAsync(string tenantId, string syncId, string connector, CancellationToken cancellationToken)
    {
        try
        {
            var content = await storage.WorkLists.GetBlobClient(Name(tenantId, syncId, connector)).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return content.Value.Content.ToObjectFromJson<WorkListDocument>(ConnectorJson.Options)?.ToChangeSet();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Deletes one connector's list once it has committed. Idempotent.</summary>
    public Task DeleteAsync(string tenantId, string syncId, string connector, CancellationToken cancellationToken) =>
        storage.WorkLists.DeleteBlobIfExistsAsync(Name(tenantId, syncId, connector), cancellationToken: cancellationToken);

    /// <summary>Deletes what is left of a sync's lists when it ended otherwise than completed. Idempotent: lists already gone are skipped.</summary>
    public async Task DeleteAllAsync(string tenantId, string syncId, CancellationToken cancellationToken)
    {
        await foreach (var item in storage.WorkLists.GetBlobsAsync(BlobTraits.None, BlobStates.None, $"{tenantId}/{syncId}/", cancellationToken).ConfigureAwait(false))
        {
            await storage.WorkLists.DeleteBlobIfExistsAsync(item.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private static string Name(string tenantId, string syncId, string connector) => $"{tenantId}/{syncId}/{connector}.json";

    /// <summary>The stored form: an absent state is null here (an undefined <see cref="JsonElement"/> cannot be written).</summary>
    private sealed record WorkListDocument(List<WorkListItem> Items, List<string> Notes, JsonElement? Checkpoint)
    {
        public static WorkListDocument From(ChangeSet set) => new(
            [.. set.Items.Select(i => new WorkListItem(i.Key, i.Title, Present(i.State)))],
            [.. set.Notes],
            Present(set.Checkpoint));

        public ChangeSet ToChangeSet() => new(
            [.. Items.Select(i => new WorkItem(i.Key, i.Title, i.State ?? default))],
            Notes,
            Checkpoint ?? default);

        private static JsonElement? Present(JsonElement element) => element.ValueKind == JsonValueKind.Undefined ? null : element;
    }

    private sealed record WorkListItem(string Key, string Title, JsonElement? State);
}
