using System.Text;
using Azure;
using Azure.Data.Tables;
using SyncFunctions.Realtime;
using SyncFunctions.Storage;

namespace SyncFunctions.Progress;

/// <summary>
/// The operations table. Every change after the insert is conditional on the ETag the writer last
/// saw, so two writers can never both move an operation to an end state.
/// </summary>
public sealed partial class SyncOperationStore(
    SyncStorage storage, IProgressPublisher publisher, TimeProvider time, IEnumerable<ISyncEndListener> endListeners, ILogger<SyncOperationStore> logger)
{
    private const int MaxAttempts = 5;

    private TableClient Table => storage.Operations;

    public async Task InsertAsync(SyncOperationEntity operation, CancellationToken cancellationToken)
    {
        operation.PartitionKey = operation.TenantId;
        operation.RowKey = SyncId.RowKey(operation.SyncId);
        var response = await Table.AddEntityAsync(operation, cancellationToken).ConfigureAwait(false);
        operation.ETag = response.Headers.ETag ?? default;
    }

    public async Task<SyncOperationEntity?> GetAsync(string tenantId, string syncId, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<SyncOperationEntity>(tenantId, SyncId.RowKey(syncId), cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    public async Task<SyncOperationEntity?> GetLatestAsync(string tenantId, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {tenantId}");
        await foreach (var page in Table.QueryAsync<SyncOperationEntity>(filter, maxPerPage: 1, cancellationToken: cancellationToken).AsPages(pageSizeHint: 1).ConfigureAwait(false))
        {
            return page.Values.Count > 0 ? page.Values[0] : null;
        }

        return null;
    }

    /// <summary>One page of a tenant's operations, newest first. The token is opaque to callers.</summary>
    public async Task<(IReadOnlyList<SyncOperationEntity> Items, string? Next)> ListAsync(
        string tenantId, int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {tenantId}");
        var continuation = pageToken is null ? null : DecodePageToken(pageToken);
        await foreach (var page in Table.QueryAsync<SyncOperationEntity>(filter, maxPerPage: pageSize, cancellationToken: cancellationToken)
                           .AsPages(continuation, pageSize).ConfigureAwait(false))
        {
            return (page.Values, page.ContinuationToken is null ? null : EncodePageToken(page.ContinuationToken));
        }

        return ([], null);
    }

    public static bool IsValidPageToken(string token) => DecodePageToken(token) is not null;

    /// <summary>Writes the whole row if nobody changed it since <paramref name="operation"/> was read or last written.</summary>
    public async Task ReplaceAsync(SyncOperationEntity operation, CancellationToken cancellationToken)
    {
        var response = await Table.UpdateEntityAsync(operation, operation.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        operation.ETag = response.Headers.ETag ?? default;
    }

    /// <summary>
    /// Moves an active operation to an end state, once: re-reads on a lost race and gives up when
    /// someone else ended it first. Returns the ended operation, or null when it was not ours to end.
    /// </summary>
    public async Task<SyncOperationEntity?> TryEndAsync(
        string tenantId,
        string syncId,
        string status,
        string? failureReason,
        string? errorMessage,
        Func<SyncOperationEntity, bool>? onlyIf,
        CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var operation = await GetAsync(tenantId, syncId, cancellationToken).ConfigureAwait(false);
            if (operation is null || operation.IsTerminal || (onlyIf is not null && !onlyIf(operation)))
            {
                return null;
            }

            MarkEnded(operation, status, failureReason, errorMessage, time.GetUtcNow());
            try
            {
                await ReplaceAsync(operation, cancellationToken).ConfigureAwait(false);
                LogEnded(logger, syncId, tenantId, status, failureReason);
                await publisher.PublishAsync(tenantId, syncId, [SyncEventLog.Read(operation)[^1]], cancellationToken).ConfigureAwait(false);
                await ReportEndedAsync(operation, cancellationToken).ConfigureAwait(false);
                return operation;
            }
            catch (RequestFailedException e) when (e.IsPreconditionFailed())
            {
                // Changed while we decided: decide again on the fresh row.
            }
        }

        return null;
    }

    /// <summary>
    /// Tells the <see cref="ISyncEndListener"/>s that this caller's write ended the operation. A
    /// listener's failure is logged and never fails the end that has already been written.
    /// </summary>
    public async Task ReportEndedAsync(SyncOperationEntity ended, CancellationToken cancellationToken)
    {
        foreach (var listener in endListeners)
        {
            try
            {
                await listener.OnSyncEndedAsync(ended, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogListenerFailed(logger, e, ended.SyncId, listener.GetType().Name);
            }
        }
    }

    /// <summary>Sets the end-state columns; connectors still at work end with the operation.</summary>
    public static void MarkEnded(SyncOperationEntity operation, string status, string? failureReason, string? errorMessage, DateTimeOffset now)
    {
        operation.Status = status;
        operation.CompletedAt = now;
        operation.FailureReason = failureReason;
        operation.ErrorMessage = errorMessage;
        operation.CurrentFile = null;
        operation.ProgressPercentage = ProgressFigures.PercentageOf(operation);

        var connectors = operation.ReadConnectorProgress();
        foreach (var connector in connectors.Where(c => !SyncStatus.IsTerminal(c.Status)))
        {
            connector.Status = status;
            connector.CurrentItem = null;
            connector.InFlightItems = 0;
            if (status != SyncStatus.Completed)
            {
                connector.FailureReason ??= failureReason;
                connector.ErrorMessage ??= errorMessage;
            }
        }

        operation.WriteConnectorProgress(connectors);
        SyncEventLog.Append(operation, status == SyncStatus.Completed ? SyncEvent.Complete : SyncEvent.Error, now);
    }

    private static string EncodePageToken(string continuation) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(continuation)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string? DecodePageToken(string token)
    {
        if (token.Length is 0 or > 2048)
        {
            return null;
        }

        var base64 = token.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        var buffer = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64, buffer, out var written))
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(buffer, 0, written);
        return text.Length > 0 && !text.Any(char.IsControl) ? text : null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId} of tenant {TenantId} ended {Status} ({FailureReason})")]
    private static partial void LogEnded(ILogger logger, string syncId, string tenantId, string status, string? failureReason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sync {SyncId}: end listener {Listener} failed")]
    private static partial void LogListenerFailed(ILogger logger, Exception exception, string syncId, string listener);
}
