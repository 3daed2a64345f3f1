using System.Text.Json;
using Azure.Data.Tables;
using SyncFunctions.Connectors;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Connectors;

/// <summary>
/// The folder connector end to end: a real directory under the app's folder root, synced through the
/// HTTP API against real Azurite; item states and document batches are read back from storage.
/// </summary>
public sealed class FolderConnectorTests : IAsyncLifetime
{
    private SyncApp _app = null!;
    private string _tenant = null!;
    private HttpClient _client = null!;
    private string _folder = null!;

    public async Task InitializeAsync()
    {
        _app = await SyncApp.StartAsync();
        _tenant = SyncApp.NewTenant("folder");
        _client = await _app.ClientForAsync(_tenant);
        _folder = Path.Combine(_app.FolderRoot, "docs");
        Directory.CreateDirectory(_folder);
        await _client.PutConnectionAsync("folder", new { path = "docs" });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task Sync_OfANewFolder_WritesEachFileAsADocumentInTheSyncsBatches()
    {
        WriteFile("a.txt", "alpha text");
        WriteFile("notes/b.md", "# beta");

        var sync = await SyncAsync();

        Assert.Equal("completed", sync.Status);
        Assert.Equal(2, sync.FilesProcessed);
        Assert.Equal(2, sync.TotalFiles);
        var documents = await ReadDocumentsAsync(sync.Id);
        Assert.Equal(["a.txt", "notes/b.md"], documents.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("alpha text", documents["a.txt"].GetProperty("text").GetString());
        Assert.Equal("# beta", documents["notes/b.md"].GetProperty("text").GetString());
        Assert.Equal(["a.txt", "notes/b.md"], (await ReadStatesAsync()).Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Sync_WhenFolderIsUnchanged_ProcessesNothingAndCompletes()
    {
        WriteFile("a.txt", "alpha");
        WriteFile("b.txt", "beta");
        var first = await SyncAsync();
        Assert.Equal(2, first.FilesProcessed);

        var second = await SyncAsync();

        Assert.Equal("completed", second.Status);
        Assert.Equal(0, second.FilesProcessed);
        Assert.Equal(0, second.TotalFiles);
        Assert.Equal(0, second.FilesFailed);
        Assert.False(await DocumentsWrittenAsync(second.Id), "a sync that changed nothing should write no document batch");
    }

    [Fact]
    public async Task Sync_WhenOneFileContentChanged_ProcessesOnlyThatFile()
    {
        WriteFile("a.txt", "alpha");
        WriteFile("b.txt", "beta");
        await SyncAsync();
        var before = (await ReadStatesAsync())["b.txt"];

        WriteFile("b.txt", "beta, second edition");
        var second = await SyncAsync();

        Assert.Equal("completed", second.Status);
        Assert.Equal(1, second.FilesProcessed);
        Assert.Equal(1, second.TotalFiles);
        var documents = await ReadDocumentsAsync(second.Id);
        Assert.Equal(["b.txt"], documents.Keys);
        Assert.Equal("beta, second edition", documents["b.txt"].GetProperty("text").GetString());
        var after = (await ReadStatesAsync())["b.txt"];
        Assert.NotEqual(before.ContentHash, after.ContentHash);
        Assert.Equal(second.Id, after.SyncId);
    }

    [Fact]
    public async Task Sync_WhenOnlyModifiedTimeChanged_DoesNotProcessTheFileAgain()
    {
        var path = WriteFile("a.txt", "alpha");
        await SyncAsync();
        var touchedAt = File.GetLastWriteTimeUtc(path).AddHours(-3);
        File.SetLastWriteTimeUtc(path, touchedAt);

        var second = await SyncAsync();

        Assert.Equal("completed", second.Status);
        Assert.Equal(0, second.FilesProcessed);
        Assert.Equal(0, second.TotalFiles);
        Assert.False(await DocumentsWrittenAsync(second.Id));
        // The new time is remembered, so the next sync does not even read the file's content again.
        var state = (await ReadStatesAsync())["a.txt"];
        Assert.Equal(new DateTimeOffset(touchedAt, TimeSpan.Zero), state.ModifiedAt);
    }

    [Fact]
    public async Task Sync_WhenAFileWasDeleted_RemovesItsItemState()
    {
        WriteFile("keep.txt", "kept");
        var gone = WriteFile("old/gone.txt", "going");
        await SyncAsync();
        Assert.Contains("old/gone.txt", (await ReadStatesAsync()).Keys);

        File.Delete(gone);
        var second = await SyncAsync();

        Assert.Equal("completed", second.Status);
        Assert.Equal(0, second.FilesProcessed);
        Assert.Equal(["keep.txt"], (await ReadStatesAsync()).Keys);
    }

    [Fact]
    public async Task Sync_WhenANewFileAppearsInASubfolder_PicksItUp()
    {
        WriteFile("a.txt", "alpha");
        await SyncAsync();

        WriteFile("2025/q3/report.txt", "quarterly numbers");
        var second = await SyncAsync();

        Assert.Equal("completed", second.Status);
        Assert.Equal(1, second.FilesProcessed);
        Assert.Equal(1, second.TotalFiles);
        var documents = await ReadDocumentsAsync(second.Id);
        Assert.Equal(["2025/q3/report.txt"], documents.Keys);
        Assert.Equal("quarterly numbers", documents["2025/q3/report.txt"].GetProperty("text").GetString());
        Assert.Equal(["2025/q3/report.txt", "a.txt"], (await ReadStatesAsync()).Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Sync_OfMoreFilesThanOneStorageBatch_RecordsAndRemovesEveryItemState()
    {
        var paths = Enumerable.Range(0, 230).Select(i => WriteFile($"batch/file-{i:D3}.txt", $"content {i}")).ToList();
        var first = await SyncAsync();
        Assert.Equal(230, first.FilesProcessed);
        Assert.Equal(230, (await ReadStatesAsync()).Count);

        foreach (var path in paths.Skip(10))
        {
            File.Delete(path);
        }

        var second = await SyncAsync();

        Assert.Equal("completed", second.Status);
        Assert.Equal(0, second.TotalFiles);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"batch/file-{i:D3}.txt"), (await ReadStatesAsync()).Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Sync_WhenTheFolderNoLongerExists_FailsWithAConnectorErrorAndAPlainMessage()
    {
        WriteFile("a.txt", "alpha");
        Directory.Delete(_folder, recursive: true);

        var syncId = await _client.TriggerAsync("folder");
        var done = await _client.WaitForEndAsync(syncId);

        Assert.Equal("failed", done.GetProperty("status").GetString());
        Assert.Equal("connector_error", done.GetProperty("failure_reason").GetString());
        var message = done.GetProperty("error_message").GetString()!;
        Assert.Contains("'docs'", message, StringComparison.Ordinal);
        Assert.Contains("does not exist", message, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", message, StringComparison.Ordinal);
        Assert.DoesNotContain(_app.FolderRoot, message, StringComparison.Ordinal);
        var connector = Assert.Single(done.GetProperty("connectors").EnumerateArray());
        Assert.Equal("failed", connector.GetProperty("status").GetString());
        Assert.Equal("connector_error", connector.GetProperty("failure_reason").GetString());
        // The run releases the tenant just after writing its end state.
        await Eventually.MatchAsync(
            () => _app.LockOfAsync(_tenant), l => l is null, "the tenant lock to be released");
    }

    [Fact]
    public async Task Sync_WhenTheConfiguredPathIsALinkOutOfTheRoot_FailsWithoutReadingThroughIt()
    {
        var outside = Directory.CreateTempSubdirectory("syncfunctions-outside-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "secret.txt"), "not this tenant's");
            Directory.CreateSymbolicLink(Path.Combine(_folder, "escape"), outside);
            await _client.PutConnectionAsync("folder", new { path = "docs/escape" });

            var syncId = await _client.TriggerAsync("folder");
            var done = await _client.WaitForEndAsync(syncId);

            Assert.Equal("failed", done.GetProperty("status").GetString());
            Assert.Equal("connector_error", done.GetProperty("failure_reason").GetString());
            Assert.Contains("'docs/escape'", done.GetProperty("error_message").GetString(), StringComparison.Ordinal);
            Assert.Equal(0, done.GetProperty("files_processed").GetInt32());
            Assert.False(await DocumentsWrittenAsync(syncId));
            Assert.Empty(await ReadStatesAsync());
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task Sync_WhenALinkInsideTheFolderPointsOut_SkipsIt()
    {
        var outside = Directory.CreateTempSubdirectory("syncfunctions-outside-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "secret.txt"), "not this tenant's");
            Directory.CreateSymbolicLink(Path.Combine(_folder, "escape"), outside);
            File.CreateSymbolicLink(Path.Combine(_folder, "secret-link.txt"), Path.Combine(outside, "secret.txt"));
            WriteFile("a.txt", "alpha");

            var sync = await SyncAsync();

            Assert.Equal("completed", sync.Status);
            Assert.Equal(["a.txt"], (await ReadDocumentsAsync(sync.Id)).Keys);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task Sync_WhenTheFolderHoldsANamedPipe_DoesNotWaitOnItAndSyncsTheFiles()
    {
        WriteFile("a.txt", "alpha");
        WriteFile("empty.txt", "");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", Path.Combine(_folder, "pipe"))!)
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var sync = await SyncAsync();

        Assert.Equal("completed", sync.Status);
        var documents = await ReadDocumentsAsync(sync.Id);
        Assert.Equal("alpha", documents["a.txt"].GetProperty("text").GetString());
        Assert.Equal("", documents["empty.txt"].GetProperty("text").GetString());
    }

    private string WriteFile(string relative, string content)
    {
        var path = Path.Combine(_folder, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var existed = File.Exists(path);
        var previous = existed ? File.GetLastWriteTimeUtc(path) : default;
        File.WriteAllText(path, content);
        if (existed && File.GetLastWriteTimeUtc(path) == previous)
        {
            // A coarse file-system clock must not hide a real edit.
            File.SetLastWriteTimeUtc(path, previous.AddSeconds(1));
        }

        return path;
    }

    private async Task<SyncSummary> SyncAsync()
    {
        var syncId = await _client.TriggerAsync("folder");
        var done = await _client.WaitForEndAsync(syncId);
        return new SyncSummary(
            syncId,
            done.GetProperty("status").GetString()!,
            done.GetProperty("files_processed").GetInt32(),
            done.GetProperty("files_failed").GetInt32(),
            done.GetProperty("progress").GetProperty("total_files").GetInt32());
    }

    /// <summary>The folder connector's item states of the tenant, by relative path.</summary>
    private async Task<Dictionary<string, ItemStateEntity>> ReadStatesAsync()
    {
        var partition = ItemStateStore.PartitionFor(_tenant, "folder");
        var states = new Dictionary<string, ItemStateEntity>(StringComparer.Ordinal);
        await foreach (var state in _app.Storage.ItemStates.QueryAsync<ItemStateEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}")))
        {
            states.Add(state.Name, state);
        }

        return states;
    }

    /// <summary>The sync's document batches: JSON Lines blobs under {tenant}/folder/{syncId}/.</summary>
    private async Task<List<string>> BatchNamesAsync(string syncId)
    {
        var names = new List<string>();
        await foreach (var blob in _app.Storage.Documents.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, $"{_tenant}/folder/{syncId}/", CancellationToken.None))
        {
            Assert.EndsWith(".jsonl", blob.Name, StringComparison.Ordinal);
            names.Add(blob.Name);
        }

        return names;
    }

    private async Task<bool> DocumentsWrittenAsync(string syncId) => (await BatchNamesAsync(syncId)).Count > 0;

    /// <summary>The documents a sync wrote, read from its batches, by the file's relative path.</summary>
    private async Task<Dictionary<string, JsonElement>> ReadDocumentsAsync(string syncId)
    {
        var documents = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var name in await BatchNamesAsync(syncId))
        {
            var content = await _app.Storage.Documents.GetBlobClient(name).DownloadContentAsync();
            foreach (var line in content.Value.Content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var document = JsonDocument.Parse(line).RootElement.Clone();
                documents.Add(document.GetProperty("metadata").GetProperty("path").GetString()!, document);
            }
        }

        Assert.NotEmpty(documents);
        return documents;
    }

    private sealed record SyncSummary(string Id, string Status, int FilesProcessed, int FilesFailed, int TotalFiles);
}
