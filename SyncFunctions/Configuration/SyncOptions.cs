using Microsoft.Extensions.Options;

namespace SyncFunctions.Configuration;

/// <summary>
/// Engine settings, bound from the environment variables the operations guide names.
/// </summary>
public sealed class SyncOptions
{
    [ConfigurationKeyName("SYNC_BASE_TIMEOUT_SECONDS")]
    public int BaseTimeoutSeconds { get; set; } = 300;

    [ConfigurationKeyName("SYNC_PER_FILE_TIMEOUT_SECONDS")]
    public int PerFileTimeoutSeconds { get; set; } = 10;

    [ConfigurationKeyName("SYNC_MIN_TIMEOUT_SECONDS")]
    public int MinTimeoutSeconds { get; set; } = 300;

    [ConfigurationKeyName("SYNC_MAX_TIMEOUT_SECONDS")]
    public int MaxTimeoutSeconds { get; set; } = 7200;

    [ConfigurationKeyName("SYNC_HEARTBEAT_INTERVAL_SECONDS")]
    public int HeartbeatIntervalSeconds { get; set; } = 30;

    /// <summary>How old a heartbeat may be before the run counts as stuck; 0 means three heartbeat intervals.</summary>
    [ConfigurationKeyName("SYNC_STALE_AFTER_SECONDS")]
    public int StaleAfterSeconds { get; set; }

    [ConfigurationKeyName("SYNC_CLEANUP_INTERVAL_SECONDS")]
    public int CleanupIntervalSeconds { get; set; } = 300;

    /// <summary>How long a sync may hold its tenant's lock without having begun before another sync takes the lock over.</summary>
    [ConfigurationKeyName("SYNC_QUEUE_TIMEOUT_SECONDS")]
    public int QueueTimeoutSeconds { get; set; } = 900;

    [ConfigurationKeyName("SYNC_CONNECT_TIMEOUT_SECONDS")]
    public int ConnectTimeoutSeconds { get; set; } = 30;

    /// <summary>Each outbound request of a connector (one attempt; retries get their own).</summary>
    [ConfigurationKeyName("SYNC_REQUEST_TIMEOUT_SECONDS")]
    public int RequestTimeoutSeconds { get; set; } = 30;

    /// <summary>Retries of a failed connector request (429, 5xx, timeouts) that gave no Retry-After.</summary>
    [ConfigurationKeyName("SYNC_REQUEST_MAX_RETRIES")]
    public int RequestMaxRetries { get; set; } = 6;

    /// <summary>First backoff delay of a retried request without Retry-After; doubles per attempt, with jitter.</summary>
    [ConfigurationKeyName("SYNC_REQUEST_RETRY_DELAY_MILLISECONDS")]
    public int RequestRetryDelayMilliseconds { get; set; } = 1000;


    [ConfigurationKeyName("SYNC_ITEM_PARALLELISM")]
    public int ItemParallelism { get; set; } = 4;

    /// <summary>
    /// How long one batch activity takes new items for. Each activity costs the Durable backend a dozen
    /// or so storage requests whatever its size, and a redelivered batch redoes at most this much work.
    /// </summary>
    [ConfigurationKeyName("SYNC_BATCH_SECONDS")]
    public int BatchSeconds { get; set; } = 15;



    [ConfigurationKeyName("SYNC_PROGRESS_FLUSH_MILLISECONDS")]
    public int ProgressFlushMilliseconds { get; set; } = 1000;

    public TimeSpan HeartbeatInterval => TimeSpan.FromSeconds(HeartbeatIntervalSeconds);

    public TimeSpan StaleAfter => TimeSpan.FromSeconds(StaleAfterSeconds > 0 ? StaleAfterSeconds : 3 * HeartbeatIntervalSeconds);

    public TimeSpan CleanupInterval => TimeSpan.FromSeconds(CleanupIntervalSeconds);

    public TimeSpan QueueTimeout => TimeSpan.FromSeconds(QueueTimeoutSeconds);

    public TimeSpan ConnectTimeout => TimeSpan.FromSeconds(ConnectTimeoutSeconds);

    public TimeSpan RequestTimeout => TimeSpan.FromSeconds(RequestTimeoutSeconds);

    public TimeSpan RequestRetryDelay => TimeSpan.FromMilliseconds(RequestRetryDelayMilliseconds);


    public TimeSpan BatchDuration => TimeSpan.FromSeconds(BatchSeconds);

    public TimeSpan ProgressFlushInterval => TimeSpan.FromMilliseconds(ProgressFlushMilliseconds);
}

/// <summary>Names the offending environment variable so a bad deployment fails with an actionable message.</summary>
public sealed class SyncOptionsValidator : IValidateOptions<SyncOptions>
{
    public ValidateOptionsResult Validate(string? name, SyncOptions options)
    {
        var failures = new List<string>();
        void Range(string variable, int value, int min, int max)
        {
            if (value < min || value > max)
            {
                failures.Add($"{variable} must be between {min} and {max} (was {value}).");
            }
        }

        Range("SYNC_BASE_TIMEOUT_SECONDS", options.BaseTimeoutSeconds, 0, 86_400);
        Range("SYNC_PER_FILE_TIMEOUT_SECONDS", options.PerFileTimeoutSeconds, 0, 3_600);
        Range("SYNC_MIN_TIMEOUT_SECONDS", options.MinTimeoutSeconds, 1, 86_400);
        Range("SYNC_MAX_TIMEOUT_SECONDS", options.MaxTimeoutSeconds, 1, 86_400);
        Range("SYNC_HEARTBEAT_INTERVAL_SECONDS", options.HeartbeatIntervalSeconds, 1, 3_600);
        Range("SYNC_STALE_AFTER_SECONDS", options.StaleAfterSeconds, 0, 86_400);
        Range("SYNC_CLEANUP_INTERVAL_SECONDS", options.CleanupIntervalSeconds, 1, 86_400);
        Range("SYNC_QUEUE_TIMEOUT_SECONDS", options.QueueTimeoutSeconds, 1, 86_400);
        Range("SYNC_CONNECT_TIMEOUT_SECONDS", options.ConnectTimeoutSeconds, 1, 3_600);
        Range("SYNC_REQUEST_TIMEOUT_SECONDS", options.RequestTimeoutSeconds, 1, 600);
        Range("SYNC_REQUEST_MAX_RETRIES", options.RequestMaxRetries, 0, 20);
        Range("SYNC_REQUEST_RETRY_DELAY_MILLISECONDS", options.RequestRetryDelayMilliseconds, 10, 60_000);
        Range("SYNC_ITEM_PARALLELISM", options.ItemParallelism, 1, 64);
        Range("SYNC_BATCH_SECONDS", options.BatchSeconds, 1, 600);
        Range("SYNC_PROGRESS_FLUSH_MILLISECONDS", options.ProgressFlushMilliseconds, 50, 60_000);

        if (options.MinTimeoutSeconds > options.MaxTimeoutSeconds)
        {
            failures.Add($"SYNC_MIN_TIMEOUT_SECONDS ({options.MinTimeoutSeconds}) must not exceed SYNC_MAX_TIMEOUT_SECONDS ({options.MaxTimeoutSeconds}).");
        }

        if (options.StaleAfterSeconds > 0 && options.StaleAfterSeconds <= options.HeartbeatIntervalSeconds)
        {
            failures.Add($"SYNC_STALE_AFTER_SECONDS ({options.StaleAfterSeconds}) must exceed SYNC_HEARTBEAT_INTERVAL_SECONDS ({options.HeartbeatIntervalSeconds}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
