using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Storage;

namespace SyncFunctions.Locking;

/// <summary>
/// Decides whether an existing holder may be replaced. It sees the holder and whether its lease is
/// stale; it may act before answering (the trigger fails a stale holder's sync first, so that no
/// operation is ever left active without a lock row pointing at it).
/// </summary>
public delegate Task<bool> TakeoverPolicy(LockLease holder, bool isStale, CancellationToken cancellationToken);

/// <summary>
/// One lock per tenant, as a table row changed only by ETag-conditional writes. The row names its
/// holder; a heartbeat renews it; a stale one may be taken over. It knows nothing of syncs: holders
/// are opaque ids. Rows exist exactly while a tenant is held, so the table is also the index of
/// active holders that the sweep walks.
/// </summary>
public sealed partial class TableTenantLock(SyncStorage storage, TimeProvider time, IOptions<SyncOptions> options, ILogger<TableTenantLock> logger)
{
    public const string RowKey = "lock";
    private const int MaxAttempts = 5;

    private TableClient Table => storage.Locks;

    private TimeSpan StaleAfter => options.Value.StaleAfter;

    public async Task<LockAcquisition> AcquireAsync(
        string tenantId, string holderId, DateTimeOffset expiresAt, TakeoverPolicy takeover, CancellationToken cancellationToken)
    {
        LockLease? lastSeen = null;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var entity = new LockEntity
            {
                PartitionKey = tenantId,
                HolderId = holderId,
                AcquiredAt = time.GetUtcNow(),
                ExpiresAt = expiresAt,
            };
            try
            {
                var added = await Table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
                entity.ETag = added.Headers.ETag ?? default;
                return new LockAcquisition.Acquired(LockLease.From(entity), null);
            }
            catch (RequestFailedException e) when (e.IsConflict())
            {
                // Held: look at the holder below.
            }

            var current = await GetAsync(tenantId, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                continue; // released between our insert and our read
            }

            lastSeen = current;
            if (current.HolderId == holderId)
            {
                return new LockAcquisition.Acquired(current, null);
            }

            var stale = current.IsStale(time.GetUtcNow(), StaleAfter);
            if (!await takeover(current, stale, cancellationToken).ConfigureAwait(false))
            {
                return new LockAcquisition.Busy(current);
            }

            try
            {
                var replaced = await Table.UpdateEntityAsync(entity, current.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                entity.ETag = replaced.Headers.ETag ?? default;
                LogTakenOver(logger, tenantId, holderId, current.HolderId);
                return new LockAcquisition.Acquired(LockLease.From(entity), current);
            }
            catch (RequestFailedException e) when (e.IsPreconditionFailed() || e.IsNotFound())
            {
                // Someone else changed or released it first: look again.
            }
        }

        var holder = lastSeen ?? await GetAsync(tenantId, cancellationToken).ConfigureAwait(false);
        return holder is null
            ? throw new InvalidOperationException($"The lock of tenant '{tenantId}' changed hands {MaxAttempts} times in a row.")
            : new LockAcquisition.Busy(holder);
    }

    /// <summary>Records a heartbeat and a new expiry; throws <see cref="LockLostException"/> when the lock is no longer ours.</summary>
    public async Task<LockLease> RenewAsync(LockLease lease, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var current = lease;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var entity = new LockEntity
            {
                PartitionKey = current.TenantId,
                HolderId = current.HolderId,
                AcquiredAt = current.AcquiredAt,
                HeartbeatAt = time.GetUtcNow(),
                ExpiresAt = expiresAt,
            };
            try
            {
                var response = await Table.UpdateEntityAsync(entity, current.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                entity.ETag = response.Headers.ETag ?? default;
                return LockLease.From(entity);
            }
            catch (RequestFailedException e) when (e.IsPreconditionFailed() || e.IsNotFound())
            {
                var fresh = await GetAsync(lease.TenantId, cancellationToken).ConfigureAwait(false);
                if (fresh is null || fresh.HolderId != lease.HolderId)
                {
                    throw new LockLostException(lease.TenantId, lease.HolderId);
                }

                current = fresh;
            }
        }

        throw new LockLostException(lease.TenantId, lease.HolderId);
    }

    /// <summary>
    /// Deletes the lock only while it names <paramref name="holderId"/>: the delete is conditional on
    /// the ETag of a row that was read naming this holder, so a late finisher never releases its
    /// successor's lock.
    /// </summary>
    public async Task<bool> ReleaseAsync(string tenantId, string holderId, ETag? knownETag, CancellationToken cancellationToken)
    {
        if (knownETag is { } etag)
        {
            try
            {
                var deleted = await Table.DeleteEntityAsync(tenantId, RowKey, etag, cancellationToken).ConfigureAwait(false);
                return !deleted.IsError; // a missing row answers 404 without throwing: nothing was released

            }
            catch (RequestFailedException e) when (e.IsPreconditionFailed())
            {
                // Changed since we last wrote it; read who holds it now.
            }
        }

        var current = await GetAsync(tenantId, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return false;
        }

        if (current.HolderId != holderId)
        {
            LogReleaseSkipped(logger, tenantId, holderId, current.HolderId);
            return false;
        }

        try
        {
            var response = await Table.DeleteEntityAsync(tenantId, RowKey, current.ETag, cancellationToken).ConfigureAwait(false);
            return !response.IsError;
        }
        catch (RequestFailedException e) when (e.IsPreconditionFailed() || e.IsNotFound())
        {
            return false;
        }
    }

    public async Task<LockLease?> GetAsync(string tenantId, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<LockEntity>(tenantId, RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue && response.Value is { } entity ? LockLease.From(entity) : null;
    }

    /// <summary>Every held tenant lock, page by page; the table holds only active rows, so this costs O(active).</summary>
    public async IAsyncEnumerable<LockLease> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var entity in Table.QueryAsync<LockEntity>(e => e.RowKey == RowKey, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return LockLease.From(entity);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {TenantId} lock taken over by {HolderId} from stale holder {PreviousHolderId}")]
    private static partial void LogTakenOver(ILogger logger, string tenantId, string holderId, string previousHolderId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {TenantId} lock not released by {HolderId}: it is held by {CurrentHolderId}")]
    private static partial void LogReleaseSkipped(ILogger logger, string tenantId, string holderId, string currentHolderId);
}
