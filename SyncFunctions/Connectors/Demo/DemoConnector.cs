using System.Globalization;

namespace SyncFunctions.Connectors.Demo;

/// <summary>
/// Deterministic synthetic items, for trying the engine without a SaaS account and for tests:
/// <c>items</c> (count), <c>item_delay_ms</c>, <c>fail_every</c> (every Nth item fails) and
/// <c>hang_after</c> (no progress after N items, like a connector stuck on a dead socket).
/// </summary>
public sealed class DemoConnector(TimeProvider time) : IConnector
{
    public const string ConnectorName = "demo";
    private static readonly string[] Known = ["items", "item_delay_ms", "fail_every", "hang_after"];

    public string Name => ConnectorName;

    public IReadOnlyDictionary<string, string[]> Validate(ConnectorSettings settings)
    {
        var errors = new Dictionary<string, string[]>();
        settings.RejectUnknown(Known, [], errors);
        settings.RequireIntegerInRange("items", 0, 1_000_000, errors);
        settings.RequireIntegerInRange("item_delay_ms", 0, 600_000, errors);
        settings.RequireIntegerInRange("fail_every", 0, 1_000_000, errors);
        settings.RequireIntegerInRange("hang_after", 0, 1_000_000, errors);
        return errors;
    }

    public Task<IConnectorSession> ConnectAsync(ConnectorContext context, CancellationToken cancellationToken)
    {
        var s = context.Settings;
        IConnectorSession session = new DemoSession(
            time,
            (int)(s.GetInteger("items") ?? 100),
            TimeSpan.FromMilliseconds(s.GetInteger("item_delay_ms") ?? 0),
            (int)(s.GetInteger("fail_every") ?? 0),
            s.GetInteger("hang_after") is { } hang ? (int)hang : null);
        return Task.FromResult(session);
    }

    private sealed class DemoSession(TimeProvider time, int items, TimeSpan delay, int failEvery, int? hangAfter) : IConnectorSession
    {
        /// <summary>Items started by this session; sessions are per batch, so <c>hang_after</c> counts within a batch.</summary>
        private int _started;

        public Task<ChangeSet> DetectChangesAsync(CancellationToken cancellationToken)
        {
            var list = new List<WorkItem>(items);
            for (var i = 1; i <= items; i++)
            {
                list.Add(WorkItem.Of(i.ToString("D7", CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture, $"Demo item {i} of {items}"), i));
            }

            return Task.FromResult(new ChangeSet(list));
        }

        public async Task<SyncDocument?> ProcessItemAsync(WorkItem item, CancellationToken cancellationToken)
        {
            var index = item.StateAs<int>();
            if (hangAfter is { } limit && Interlocked.Increment(ref _started) > limit)
            {
                // A stuck connector: never returns, only cancellation ends it.
                await Task.Delay(Timeout.InfiniteTimeSpan, time, cancellationToken).ConfigureAwait(false);
            }

            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }

            if (failEvery > 0 && index % failEvery == 0)
            {
                throw new ItemFailedException(string.Create(CultureInfo.InvariantCulture, $"Synthetic failure of item {index} (fail_every={failEvery})."));
            }

            return new SyncDocument(
                item.Key,
                item.Title,
                string.Create(CultureInfo.InvariantCulture, $"Synthetic document {index}."),
                new Dictionary<string, string> { ["source"] = ConnectorName });
        }

        public Task CommitAsync(ChangeSet detected, IReadOnlyCollection<WorkItem> succeeded, CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
