using Azure;

namespace SyncFunctions.Notifications;

/// <summary>
/// Sends the claimed e-mails in the background, a few at once, so that no end path waits for SMTP or
/// ACS: a run releases its tenant lock right after the claim, and a slow mail server delays nobody's
/// next sync. On shutdown, or when storage fails mid-send, the claim stays and its lease runs out;
/// the sweep then hands the e-mail to a sender on any instance.
/// </summary>
public sealed partial class NotificationWorker(SyncNotifier notifier, ILogger<NotificationWorker> logger) : BackgroundService
{
    private const int Concurrency = 4;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!notifier.Enabled)
        {
            LogOff(logger);
            return Task.CompletedTask;
        }

        LogOn(logger, notifier.TransportDescription!);
        return Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => ConsumeAsync(stoppingToken)));
    }

    private async Task ConsumeAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var work in notifier.Queue.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await notifier.SendAsync(work, stoppingToken).ConfigureAwait(false);
                }
                catch (RequestFailedException e)
                {
                    LogStorageFailed(logger, e, work.Claim.SyncId, e.Status);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: unsent claims expire and are recovered by the sweep.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "E-mail notifications are off: set SMTP_HOST (SMTP) or ACS_EMAIL_ENDPOINT (Azure Communication Services) to send sync summaries")]
    private static partial void LogOff(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "E-mail notifications go out by {Transport}")]
    private static partial void LogOn(ILogger logger, string transport);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync {SyncId}: storage failed ({Status}) while sending its e-mail; the sweep retries it once the claim expires")]
    private static partial void LogStorageFailed(ILogger logger, Exception exception, string syncId, int status);
}
