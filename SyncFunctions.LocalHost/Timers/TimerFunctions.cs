using System.Globalization;
using Microsoft.Azure.Functions.Worker;
using NCrontab;
using SyncFunctions.LocalHost.Catalog;
using SyncFunctions.LocalHost.Durable;

namespace SyncFunctions.LocalHost.Timers;

/// <summary>
/// Calls each timer function on its schedule: the six-field cron expression (or a TimeSpan) of its
/// <c>[TimerTrigger]</c>, <c>%NAME%</c> taken from settings, as the Functions host reads it. Unlike the
/// Functions host there is no singleton lease across instances; the app's timer work must tolerate
/// two instances firing at once (the sweep does: every write it makes is conditional).
/// </summary>
public sealed partial class TimerFunctions(
    FunctionCatalog catalog, IServiceProvider services, LocalDurableClient durable, IConfiguration configuration, TimeProvider time, ILogger<TimerFunctions> logger)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(catalog.OfKind(TriggerKind.Timer).Select(f => RunAsync(f, Schedule.Parse(f, configuration), stoppingToken)));

    private async Task RunAsync(HostedFunction function, Schedule schedule, CancellationToken stoppingToken)
    {
        var client = await durable.GetAsync(stoppingToken).ConfigureAwait(false);
        var last = time.GetUtcNow();
        if (function.RunOnStartup)
        {
            await InvokeAsync(function, client, last, pastDue: false, stoppingToken).ConfigureAwait(false);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var next = schedule.Next(last);
            var wait = next - time.GetUtcNow();
            try
            {
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            await InvokeAsync(function, client, next, pastDue: time.GetUtcNow() - next > TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            last = next;
        }
    }

    private async Task InvokeAsync(HostedFunction function, Microsoft.DurableTask.Client.DurableTaskClient client, DateTimeOffset due, bool pastDue, CancellationToken stoppingToken)
    {
        await using var scope = services.CreateAsyncScope();
        try
        {
            await FunctionInvoker.InvokeAsync(function, new InvocationBindings
            {
                Services = scope.ServiceProvider,
                Trigger = new TimerInfo { IsPastDue = pastDue, ScheduleStatus = new ScheduleStatus { Last = due.UtcDateTime, Next = due.UtcDateTime } },
                Client = client,
                Cancellation = stoppingToken,
            }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // As under the Functions host: a failed run is logged and the next one comes on schedule.
            LogTimerFailed(logger, e, function.Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Timer function {Function} failed")]
    private static partial void LogTimerFailed(ILogger logger, Exception exception, string function);

    /// <summary>A timer trigger's schedule: NCrontab with seconds, or a fixed interval.</summary>
    public sealed class Schedule
    {
        private readonly CrontabSchedule? _cron;
        private readonly TimeSpan _interval;

        private Schedule(CrontabSchedule? cron, TimeSpan interval)
        {
            _cron = cron;
            _interval = interval;
        }

        public static Schedule Parse(HostedFunction function, IConfiguration configuration)
        {
            var expression = function.Schedule!;
            if (expression.Length > 2 && expression[0] == '%' && expression[^1] == '%')
            {
                var setting = expression[1..^1];
                expression = configuration[setting] is { Length: > 0 } value
                    ? value
                    : throw new InvalidOperationException($"Timer function '{function.Name}' takes its schedule from {setting}, which is not set.");
            }

            if (TimeSpan.TryParse(expression, CultureInfo.InvariantCulture, out var interval) && interval > TimeSpan.Zero)
            {
                return new Schedule(null, interval);
            }

            var cron = CrontabSchedule.TryParse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = true })
                ?? throw new InvalidOperationException($"Timer function '{function.Name}': '{expression}' is neither a six-field cron expression nor a TimeSpan.");
            return new Schedule(cron, TimeSpan.Zero);
        }

        public DateTimeOffset Next(DateTimeOffset after) =>
            _cron is null ? after + _interval : new DateTimeOffset(_cron.GetNextOccurrence(after.UtcDateTime), TimeSpan.Zero);
    }
}
