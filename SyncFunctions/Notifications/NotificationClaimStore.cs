using Azure;
using Azure.Data.Tables;
using SyncFunctions.Progress;
using SyncFunctions.Storage;

namespace SyncFunctions.Notifications;

/// <summary>
/// The right to send one sync's e-mail. PartitionKey = tenant, RowKey = sync id. It exists only while
/// the e-mail is being sent: inserted (never upserted) by whoever claims it, renewed before each
/// attempt, deleted once the outcome is on the operation row. A claim whose lease ran out belongs to
/// a sender that died; the sweep takes it over with a conditional write.
/// </summary>
public sealed class NotificationClaimEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Owner { get; set; } = "";

    public DateTimeOffset ClaimedAt { get; set; }

    public DateTimeOffset LeaseExpiresAt { get; set; }

    /// <summary>How many senders have held it: more than one means a sender died or stalled mid-send.</summary>
    public int Generation { get; set; } = 1;

    public string TenantId => PartitionKey;

    public string SyncId => RowKey;
}

public sealed class NotificationClaimStore(SyncStorage storage, TimeProvider time)
{
    /// <summary>
    /// Longer than a whole send (every attempt and wait, each SMTP exchange or ACS poll bounded), so a
    /// live sender never loses its claim; short enough that a dead sender's e-mail goes out within a
    /// few sweeps.
    /// </summary>
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(10);

    private TableClient Table => storage.NotificationClaims;

    /// <summary>Inserts the claim; null when someone else holds it already (409).</summary>
    public async Task<NotificationClaimEntity?> TryInsertAsync(string tenantId, string syncId, string owner, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var claim = new NotificationClaimEntity
        {
            PartitionKey = tenantId,
            RowKey = syncId,
            Owner = owner,
            ClaimedAt = now,
            LeaseExpiresAt = now + Lease,
        };
        try
        {
            var response = await Table.AddEntityAsync(claim, cancellationToken).ConfigureAwait(false);
            claim.ETag = response.Headers.ETag ?? default;
            return claim;
        }
        catch (RequestFailedException e) when (e.IsConflict())
        {
            return null;
        }
    }

    /// <summary>Takes over a claim whose lease has run out; null when it is alive, gone, or another took it first.</summary>
    public async Task<NotificationClaimEntity?> TryTakeOverAsync(NotificationClaimEntity stale, string owner, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (stale.LeaseExpiresAt > now)
        {
            return null;
        }

        var taken = new NotificationClaimEntity
        {
            PartitionKey = stale.PartitionKey,
            RowKey = stale.RowKey,
            ETag = stale.ETag,
            Owner = owner,
            ClaimedAt = now,
            LeaseExpiresAt = now + Lease,
            Generation = stale.Generation + 1,
        };
        return await TryReplaceAsync(taken, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pushes the lease out before another attempt; null when the claim is no longer this holder's.</summary>
    public Task<NotificationClaimEntity?> TryRenewAsync(NotificationClaimEntity claim, CancellationToken cancellationToken)
    {
        claim.LeaseExpiresAt = time.GetUtcNow() + Lease;
        return TryReplaceAsync(claim, cancellationToken);
    }

    /// <summary>Removes the claim if it is still the one this holder wrote.</summary>
    public async Task DeleteAsync(NotificationClaimEntity claim, CancellationToken cancellationToken)
    {
        try
        {
            await Table.DeleteEntityAsync(claim.PartitionKey, claim.RowKey, claim.ETag, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.IsPreconditionFailed() || e.IsNotFound())
        {
            // Taken over after our lease ran out: the new holder finds the outcome on the operation and deletes it.
        }
    }

    public async Task<NotificationClaimEntity?> GetAsync(string tenantId, string syncId, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<NotificationClaimEntity>(tenantId, syncId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Claims whose sender stopped renewing them. The table holds only e-mails in flight, so this is O(in flight).</summary>
    public IAsyncEnumerable<NotificationClaimEntity> ListExpiredAsync(string? tenantId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var filter = tenantId is null
            ? TableClient.CreateQueryFilter($"LeaseExpiresAt le {now}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {tenantId} and LeaseExpiresAt le {now}");
        return Table.QueryAsync<NotificationClaimEntity>(filter, cancellationToken: cancellationToken);
    }

    private async Task<NotificationClaimEntity?> TryReplaceAsync(NotificationClaimEntity claim, CancellationToken cancellationToken)
    {
        try
        {
            var response = await Table.UpdateEntityAsync(claim, claim.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            claim.ETag = response.Headers.ETag ?? default;
            return claim;
        }
        catch (RequestFailedException e) when (e.IsPreconditionFailed() || e.IsNotFound())
        {
            return null;
        }
    }
}

/// <summary>
/// The notification columns of the operations table; only the holder of a claim writes them. It reads
/// and writes the table itself rather than through <see cref="SyncOperationStore"/>, which tells the
/// notifier of every end and so cannot also be one of its dependencies.
/// </summary>
public sealed class NotificationOutcomeStore(SyncStorage storage)
{
    private const int MaxAttempts = 5;

    private TableClient Table => storage.Operations;

    public async Task<SyncOperationEntity?> GetOperationAsync(string tenantId, string syncId, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<SyncOperationEntity>(tenantId, Progress.SyncId.RowKey(syncId), cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Writes the columns on the ended operation, conditional on its ETag; false when the operation is gone.</summary>
    public async Task<bool> WriteAsync(string tenantId, string syncId, string status, string? error, int attempts, DateTimeOffset? sentAt, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var operation = await GetOperationAsync(tenantId, syncId, cancellationToken).ConfigureAwait(false);
            if (operation is null)
            {
                return false;
            }

            operation.NotificationStatus = status;
            operation.NotificationError = error;
            operation.NotificationAttempts = attempts;
            operation.NotificationSentAt = sentAt;
            try
            {
                await Table.UpdateEntityAsync(operation, operation.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException e) when (e.IsPreconditionFailed())
            {
                // Only our own columns change after the end, but a late write elsewhere is not ours to lose: read again.
            }
        }

        throw new InvalidOperationException($"The notification status of sync {syncId} could not be written after {MaxAttempts} attempts.");
    }
}
