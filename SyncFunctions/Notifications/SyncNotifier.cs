using Microsoft.Extensions.Options;
using SyncFunctions.Progress;

namespace SyncFunctions.Notifications;

/// <summary>The outcome of one e-mail, as the operation row and the API show it.</summary>
public static class NotificationStatus
{
    public const string Sending = "sending";
    public const string Retrying = "retrying";
    public const string Sent = "sent";
    public const string Failed = "failed";
    public const string Skipped = "skipped";

    /// <summary>Settled: nobody sends this e-mail again.</summary>
    public static bool IsSettled(string? status) => status is Sent or Failed or Skipped;
}

/// <summary>A claimed e-mail, ready to send.</summary>
public sealed record NotificationWork(NotificationClaimEntity Claim);

/// <summary>
/// One e-mail per ended sync, to its trigger and the tenant's list. Exactly-once rests on a claim row
/// (<see cref="NotificationClaimStore"/>): whoever's insert wins owns the send, a 409 means someone else
/// does. The orchestration's notify activity sends it (and the sweep, for the syncs it ends), retried
/// with backoff, and its outcome lands on the operation row before the claim is deleted. A sender that dies leaves a claim whose lease runs out; the sweep takes it over
/// (<see cref="RecoverAsync"/>). Delivery is therefore at-least-once: a sender that dies after the mail
/// left but before recording it causes one resend, which carries the same Message-ID.
/// </summary>
public sealed partial class SyncNotifier(
    NotificationClaimStore claims,
    NotificationOutcomeStore outcomes,
    NotificationSettingsStore settings,
    SyncSummaryEmail email,
    EmailTransportChoice transport,
    TimeProvider time,
    IOptions<NotificationOptions> options,
    ILogger<SyncNotifier> logger)
{
    private readonly IEmailTransport? _transport = transport.Transport;

    /// <summary>This sender (one per app instance), as named in the claims it holds.</summary>
    private readonly string _owner = $"{Environment.MachineName}-{Environment.ProcessId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";

    /// <summary>False when no transport is configured: then nothing is claimed, written or sent.</summary>
    public bool Enabled => _transport is not null;

    public string? TransportDescription => _transport?.Description;

    /// <summary>Claims the ended sync's e-mail and sends it, unless another sender holds the claim or it was settled.</summary>
    public async Task NotifyAsync(SyncOperationEntity ended, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ended);
        if (!Enabled || !ended.IsTerminal || NotificationStatus.IsSettled(ended.NotificationStatus))
        {
            return;
        }

        // At-least-once checkpoint: the claim. Only the caller whose insert wins sends; any other caller
        // (another instance, a concurrent or retried notify) leaves it, and a claim whose sender died is
        // taken over by the sweep once its lease has run out.
        var claim = await claims.TryInsertAsync(ended.TenantId, ended.SyncId, _owner, cancellationToken).ConfigureAwait(false);
        if (claim is null)
        {
            LogAlreadyClaimed(logger, ended.SyncId);
            return;
        }

        await SendAsync(new NotificationWork(claim), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes over the claims whose sender stopped renewing them, and sends their e-mails. Returns how many.</summary>
    public async Task<int> RecoverAsync(string? tenantId, CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return 0;
        }

        var recovered = 0;
        await foreach (var stale in claims.ListExpiredAsync(tenantId, cancellationToken).ConfigureAwait(false))
        {
            if (await claims.TryTakeOverAsync(stale, _owner, cancellationToken).ConfigureAwait(false) is { } claim)
            {
                LogTakenOver(logger, claim.SyncId, claim.TenantId, stale.Owner, claim.Generation);
                await SendAsync(new NotificationWork(claim), cancellationToken).ConfigureAwait(false);
                recovered++;
            }
        }

        return recovered;
    }

    /// <summary>
    /// Sends one claimed e-mail: settles it as skipped, sent or failed on the operation row, then deletes
    /// the claim. Never throws for a failed send (the sync's outcome is not the e-mail's); a storage
    /// failure or shutdown leaves the claim to expire and be recovered.
    /// </summary>
    public async Task SendAsync(NotificationWork work, CancellationToken cancellationToken)
    {
        var claim = work.Claim;
        var (tenantId, syncId) = (claim.TenantId, claim.SyncId);
        var operation = await outcomes.GetOperationAsync(tenantId, syncId, cancellationToken).ConfigureAwait(false);

        // Read after the claim: a sender that finished meanwhile wrote its outcome before deleting its
        // claim, so a settled status here means this claim came too late and must send nothing.
        if (operation is null || !operation.IsTerminal || NotificationStatus.IsSettled(operation.NotificationStatus))
        {
            await claims.DeleteAsync(claim, cancellationToken).ConfigureAwait(false);
            return;
        }

        var tenant = await settings.GetAsync(tenantId, cancellationToken).ConfigureAwait(false);
        var recipients = Recipients(operation.TriggeredBy, tenant);
        if (!tenant.Enabled || recipients.Count == 0)
        {
            var why = tenant.Enabled ? "No recipients: the trigger has no e-mail address and the tenant's list is empty." : "Notifications are turned off for this tenant.";
            await SettleAsync(claim, NotificationStatus.Skipped, why, 0, null, cancellationToken).ConfigureAwait(false);
            LogSkipped(logger, syncId, why);
            return;
        }

        var message = email.Render(operation, recipients);
        var maxAttempts = options.Value.MaxAttempts;
        string? lastError = null;
        for (var attempt = 1; attempt <= maxAttempts; attempt++)
        {
            if (await claims.TryRenewAsync(claim, cancellationToken).ConfigureAwait(false) is not { } renewed)
            {
                LogClaimLost(logger, syncId);
                return; // our lease ran out and the sweep gave the e-mail to another sender
            }

            claim = renewed;
            await outcomes.WriteAsync(tenantId, syncId, attempt == 1 ? NotificationStatus.Sending : NotificationStatus.Retrying, lastError, attempt - 1, null, cancellationToken).ConfigureAwait(false);
            TimeSpan? retryAfter;
            try
            {
                await _transport!.SendAsync(message, cancellationToken).ConfigureAwait(false);
                await SettleAsync(claim, NotificationStatus.Sent, null, attempt, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                LogSent(logger, syncId, recipients.Count, attempt);
                return;
            }
            catch (EmailSendException e) when (!e.Transient)
            {
                await SettleAsync(claim, NotificationStatus.Failed, e.Message, attempt, null, cancellationToken).ConfigureAwait(false);
                LogFailed(logger, e, syncId, attempt, e.Message);
                return;
            }
            catch (Exception e) when (e is not EmailSendException && e is not OperationCanceledException)
            {
                // A transport fault nobody foresaw: the outcome is unknown, so the e-mail is not risked twice.
                var error = $"The e-mail could not be sent: {e.Message}";
                await SettleAsync(claim, NotificationStatus.Failed, error, attempt, null, cancellationToken).ConfigureAwait(false);
                LogFailed(logger, e, syncId, attempt, error);
                return;
            }
            catch (EmailSendException e)
            {
                lastError = e.Message;
                retryAfter = e.RetryAfter;
                LogAttemptFailed(logger, syncId, attempt, maxAttempts, e.Message);
            }

            if (attempt < maxAttempts)
            {
                var backoff = options.Value.Backoff(attempt);
                await Task.Delay(retryAfter is { } least && least > backoff ? least : backoff, time, cancellationToken).ConfigureAwait(false);
            }
        }

        await SettleAsync(claim, NotificationStatus.Failed, lastError, maxAttempts, null, cancellationToken).ConfigureAwait(false);
        LogGaveUp(logger, syncId, maxAttempts, lastError);
    }

    /// <summary>The trigger's address and the tenant's list, each once (addresses compare case-insensitively).</summary>
    public static IReadOnlyList<string> Recipients(string? triggeredBy, NotificationSettings tenant)
    {
        var all = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var address in tenant.Recipients.Prepend(triggeredBy))
        {
            if (EmailAddresses.IsValid(address) && seen.Add(address!))
            {
                all.Add(address!);
            }
        }

        return all;
    }

    /// <summary>The outcome first, then the claim: whoever claims after the delete finds the outcome and stops.</summary>
    private async Task SettleAsync(NotificationClaimEntity claim, string status, string? error, int attempts, DateTimeOffset? sentAt, CancellationToken cancellationToken)
    {
        await outcomes.WriteAsync(claim.TenantId, claim.SyncId, status, error, attempts, sentAt, cancellationToken).ConfigureAwait(false);
        await claims.DeleteAsync(claim, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sync {SyncId}: its e-mail is already claimed by another sender")]
    private static partial void LogAlreadyClaimed(ILogger logger, string syncId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId} of tenant {TenantId}: took over its e-mail from {PreviousOwner}, whose claim expired (generation {Generation})")]
    private static partial void LogTakenOver(ILogger logger, string syncId, string tenantId, string previousOwner, int generation);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId}: e-mail summary sent to {Count} recipients (attempt {Attempt})")]
    private static partial void LogSent(ILogger logger, string syncId, int count, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sync {SyncId}: no e-mail summary ({Reason})")]
    private static partial void LogSkipped(ILogger logger, string syncId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId}: e-mail attempt {Attempt} of {MaxAttempts} failed: {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, string syncId, int attempt, int maxAttempts, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sync {SyncId}: e-mail summary failed on attempt {Attempt} and will not be retried: {Error}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string syncId, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sync {SyncId}: e-mail summary failed after {Attempts} attempts: {Error}")]
    private static partial void LogGaveUp(ILogger logger, string syncId, int attempts, string? error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId}: its e-mail claim was taken over by another sender; this one stops")]
    private static partial void LogClaimLost(ILogger logger, string syncId);
}
