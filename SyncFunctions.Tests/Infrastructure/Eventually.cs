namespace SyncFunctions.Tests.Infrastructure;

/// <summary>Waits for a condition on real, asynchronously changing state (storage, another task), with a bound.</summary>
internal static class Eventually
{
    public static async Task<T> MatchAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        T last;
        do
        {
            last = await read();
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(25);
        }
        while (DateTime.UtcNow < limit);

        throw new Xunit.Sdk.XunitException($"Timed out waiting for {what}; last value: {last}");
    }
}
