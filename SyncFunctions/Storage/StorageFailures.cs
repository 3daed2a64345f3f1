using Azure;

namespace SyncFunctions.Storage;

/// <summary>
/// When storage cannot be reached at all (connection refused, reset, DNS), the Azure SDK's retry policy
/// gives up with an <see cref="AggregateException"/> of the failed tries, not a
/// <see cref="RequestFailedException"/>. The local drivers must treat it like any other storage failure
/// and try again: letting it escape a BackgroundService stops the whole host.
/// </summary>
public static class StorageFailures
{
    public static bool AllTriesFailed(AggregateException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.InnerExceptions.Count > 0 && exception.InnerExceptions.All(e => e is RequestFailedException or HttpRequestException);
    }
}
