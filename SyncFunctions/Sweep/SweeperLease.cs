using Azure;
using Azure.Data.Tables;
using SyncFunctions.Storage;

namespace SyncFunctions.Sweep;

/// <summary>
/// A named lease so that, of many instances, one runs the periodic sweep at a time. It lives in the
/// locks table under a partition no tenant id can take ('~' is not allowed in tenant ids). Not
/// needed for correctness (the sweep's writes are conditional), only to avoid wasted work.
/// </summary>
public sealed class SweeperLease(SyncStorage storage, TimeProvider time)
{
    private const string Partition = "~sweeper";
    private const string Row = "lease";

    public async Task<bool> TryAcquireAsync(string holderId, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var entity = new TableEntity(Partition, Row) { ["HolderId"] = holderId, ["ExpiresAt"] = now + duration };
        var existing = await storage.Locks.GetEntityIfExistsAsync<TableEntity>(Partition, Row, cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            if (!existing.HasValue || existing.Value is null)
            {
                await storage.Locks.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
                return true;
            }

            var current = existing.Value;
            var expired = current.GetDateTimeOffset("ExpiresAt") is not { } expires || expires <= now;
            if (!expired && current.GetString("HolderId") != holderId)
            {
                return false;
            }

            await storage.Locks.UpdateEntityAsync(entity, current.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.IsConflict() || e.IsPreconditionFailed())
        {
            return false; // another instance got there first
        }
    }
}
