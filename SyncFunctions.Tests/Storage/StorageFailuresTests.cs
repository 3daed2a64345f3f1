using Azure;
using SyncFunctions.Storage;

namespace SyncFunctions.Tests.Storage;

/// <summary>
/// Storage that cannot be reached surfaces as the SDK retry policy's AggregateException; the local drivers
/// catch exactly that and try again (found by ./scripts/bench.sh faults: an Azurite outage stopped the host).
/// </summary>
public sealed class StorageFailuresTests
{
    [Fact]
    public void AllTriesFailed_WhenEveryTryFailedToReachStorage_IsTrue()
    {
        var refused = new RequestFailedException(0, "Connection refused (127.0.0.1:10001)", new HttpRequestException("Connection refused"));
        Assert.True(StorageFailures.AllTriesFailed(new AggregateException("Retry failed after 4 tries.", refused, refused, refused, refused)));
    }

    [Fact]
    public void AllTriesFailed_WhenAnythingElseIsInside_IsFalse()
    {
        Assert.False(StorageFailures.AllTriesFailed(new AggregateException(new RequestFailedException("x"), new InvalidOperationException("a bug"))));
        Assert.False(StorageFailures.AllTriesFailed(new AggregateException()));
    }
}
