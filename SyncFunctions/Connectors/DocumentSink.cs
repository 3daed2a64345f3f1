using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using SyncFunctions.Storage;

namespace SyncFunctions.Connectors;

/// <summary>
/// Where synced documents go: JSON Lines blobs of up to <see cref="MaxDocuments"/> documents or
/// <see cref="MaxBytes"/> bytes, named <c>{tenant}/{connector}/{syncId}/{attempt}-{n:D5}.jsonl</c>, which
/// the embedding step reads in order. Batching keeps a sync's storage cost near-constant in its size
/// (one request per few hundred documents instead of one per document).
/// </summary>
public sealed class DocumentSink(SyncStorage storage)
{
    public const int MaxDocuments = 500;
    public const int MaxBytes = 4 * 1024 * 1024;

    public DocumentBatchWriter OpenWriter(string tenantId, string connector, string syncId, int attempt) =>
        new(storage.Documents, $"{tenantId}/{connector}/{syncId}/{attempt}-");
}

/// <summary>One connector's documents in one run; safe to add to from parallel item workers.</summary>
public sealed class DocumentBatchWriter(BlobContainerClient container, string prefix) : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly MemoryStream _buffer = new();
    private int _count;
    private int _batch;

    public int Written { get; private set; }

    public async Task AddAsync(SyncDocument document, CancellationToken cancellationToken)
    {
        var line = JsonSerializer.SerializeToUtf8Bytes(document, Json);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _buffer.Write(line);
            _buffer.WriteByte((byte)'\n');
            _count++;
            if (_count >= DocumentSink.MaxDocuments || _buffer.Length >= DocumentSink.MaxBytes)
            {
                await FlushLockedAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Writes what is buffered; the run calls it once its items are done (updating_embeddings).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _gate.Dispose();
        _buffer.Dispose();
    }

    private async Task FlushLockedAsync(CancellationToken cancellationToken)
    {
        if (_count == 0)
        {
            return;
        }

        _batch++;
        var blob = container.GetBlobClient(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{prefix}{_batch:D5}.jsonl"));
        await blob.UploadAsync(
            new BinaryData(_buffer.ToArray()),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/x-ndjson", ContentEncoding = Encoding.UTF8.WebName } },
            cancellationToken).ConfigureAwait(false);
        Written += _count;
        _count = 0;
        _buffer.SetLength(0);
    }
}
