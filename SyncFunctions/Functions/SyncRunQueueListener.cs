using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Orchestration;
using SyncFunctions.Storage;

namespace SyncFunctions.Functions;

/// <summary>
/// The local driver of <c>SyncRun</c> when no Functions host is there: competing consumers on the
/// <c>sync-runs</c> queue, up to <c>SYNC_WORKER_CONCURRENCY</c> runs at once, each message kept hidden
/// while its run heartbeats, retried with backoff when its run throws, and moved to
/// <c>sync-runs-poison</c> after the last allowed delivery.
/// </summary>
public sealed partial class SyncRunQueueListener(
    SyncStorage storage,
    SyncRunFunction function,
    RunQueueSignal signal,
    FunctionsHostMode mode,
    IOptions<SyncOptions> options,
    ILogger<SyncRunQueueListener> logger) : BackgroundService
{
    private static readonly TimeSpan MinPoll = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxPoll = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!mode.LocalDriversEnabled)
        {
            return;
        }

        var concurrency = options.Value.WorkerConcurrency;
        using var slots = new SemaphoreSlim(concurrency, concurrency);
        var runs = new List<Task>();
        var idle = MinPoll;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                var free = Math.Min(slots.CurrentCount + 1, 32); // 32: the most one receive may take
                QueueMessage[] messages;
                try
                {
                    messages = (await storage.RunQueue.ReceiveMessagesAsync(free, options.Value.RunVisibilityTimeout, stoppingToken).ConfigureAwait(false)).Value;
                }
                catch (RequestFailedException e)
                {
                    LogReceiveFailed(logger, e.Status, e.ErrorCode);
                    messages = [];
                }
                catch (AggregateException e) when (StorageFailures.AllTriesFailed(e))
                {
                    // Storage unreachable (every retry failed to connect): wait as when idle, then try again.
                    LogQueueUnreachable(logger, e.InnerExceptions[^1].Message);
                    messages = [];
                }

                if (messages.Length == 0)
                {
                    slots.Release();
                    // Real time, not the injected clock: this paces I/O, it is not engine logic a test drives.
                    await signal.WaitAsync(idle, stoppingToken).ConfigureAwait(false);
                    idle = idle * 2 > MaxPoll ? MaxPoll : idle * 2;
                    continue;
                }

                idle = MinPoll;
                for (var i = 0; i < messages.Length; i++)
                {
                    if (i > 0)
                    {
                        await slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                    }

                    var message = messages[i];
                    runs.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await ProcessAsync(message, stoppingToken).ConfigureAwait(false);
                        }
                        finally
                        {
                            slots.Release();
                        }
                    }, CancellationToken.None));
                }

                runs.RemoveAll(t => t.IsCompleted);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: runs below hand their messages back.
        }

        await Task.WhenAll(runs).ConfigureAwait(false);
    }

    private async Task ProcessAsync(QueueMessage message, CancellationToken stoppingToken)
    {
        var lease = new MessageLease(storage.RunQueue, message, options.Value.RunVisibilityTimeout);
        RunOutcome outcome;
        try
        {
            outcome = await function.InvokeAsync(message.MessageText, message.MessageId, message.DequeueCount, lease, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // The host's retry semantics: the message reappears after a backoff and counts a dequeue.
            LogRunThrew(logger, e, message.MessageId, message.DequeueCount);
            outcome = RunOutcome.Defer(TimeSpan.FromSeconds(Math.Min(Math.Pow(2, message.DequeueCount), 60)));
        }
        catch (OperationCanceledException)
        {
            outcome = RunOutcome.Abandon;
        }

        try
        {
            await SettleAsync(lease, outcome).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.IsNotFound())
        {
            // The message was already settled elsewhere (its visibility lapsed and another worker took it).
            LogSettleLost(logger, message.MessageId);
        }
        catch (AggregateException e) when (StorageFailures.AllTriesFailed(e))
        {
            // Storage unreachable: the message reappears by itself when its visibility lapses, and the operation row
            // decides what that delivery does. Letting this fault the run's task would fail the listener at shutdown.
            LogSettleFailed(logger, message.MessageId, e.InnerExceptions[^1].Message);
        }
    }

    /// <summary>Settles with no cancellation token: even while stopping, a message must be deleted or handed back.</summary>
    private async Task SettleAsync(MessageLease lease, RunOutcome outcome)
    {
        switch (outcome.Disposition)
        {
            case RunDisposition.Done:
                await storage.RunQueue.DeleteMessageAsync(lease.MessageId, lease.PopReceipt, CancellationToken.None).ConfigureAwait(false);
                break;
            case RunDisposition.Defer:
                await storage.RunQueue.UpdateMessageAsync(lease.MessageId, lease.PopReceipt, visibilityTimeout: outcome.Delay, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                break;
            case RunDisposition.Abandon:
                await storage.RunQueue.UpdateMessageAsync(lease.MessageId, lease.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                break;
            case RunDisposition.Poison:
                await storage.PoisonQueue.SendMessageAsync(lease.MessageText, CancellationToken.None).ConfigureAwait(false);
                await storage.RunQueue.DeleteMessageAsync(lease.MessageId, lease.PopReceipt, CancellationToken.None).ConfigureAwait(false);
                LogPoisoned(logger, lease.MessageId);
                break;
        }
    }

    /// <summary>A received message whose visibility the run's heartbeats extend; the pop receipt changes each time.</summary>
    private sealed class MessageLease(QueueClient queue, QueueMessage message, TimeSpan visibility) : IRunMessageLease
    {
        public string MessageId => message.MessageId;

        public string MessageText => message.MessageText;

        public string PopReceipt { get; private set; } = message.PopReceipt;

        public async Task ExtendAsync(CancellationToken cancellationToken)
        {
            var receipt = await queue.UpdateMessageAsync(message.MessageId, PopReceipt, visibilityTimeout: visibility, cancellationToken: cancellationToken).ConfigureAwait(false);
            PopReceipt = receipt.Value.PopReceipt;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Receiving from the run queue failed ({Status} {ErrorCode})")]
    private static partial void LogReceiveFailed(ILogger logger, int status, string? errorCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run message {MessageId} could not be settled ({Reason}); it reappears when its visibility lapses")]
    private static partial void LogSettleFailed(ILogger logger, string messageId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The run queue is unreachable ({Reason}); trying again")]
    private static partial void LogQueueUnreachable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run of message {MessageId} threw on delivery {DequeueCount}; it will be retried")]
    private static partial void LogRunThrew(ILogger logger, Exception exception, string messageId, long dequeueCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run message {MessageId} moved to the poison queue")]
    private static partial void LogPoisoned(ILogger logger, string messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run message {MessageId} was already settled elsewhere")]
    private static partial void LogSettleLost(ILogger logger, string messageId);
}
