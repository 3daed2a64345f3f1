using System.Text.Json;

namespace SyncFunctions.Connectors;

/// <summary>
/// A source of documents. Connectors know nothing of runs, locks or progress rows: the engine drives
/// them through connect → detect changes → process each item → commit, and reports progress itself.
/// </summary>
public interface IConnector
{
    string Name { get; }

    /// <summary>Checks settings and secrets before they are stored; keys of the result name the bad field.</summary>
    IReadOnlyDictionary<string, string[]> Validate(ConnectorSettings settings);

    Task<IConnectorSession> ConnectAsync(ConnectorContext context, CancellationToken cancellationToken);
}

/// <summary>
/// One connected use of a connector. A sync runs its steps as separate activities, possibly in other
/// processes: the session that detects the changes is not the one that processes a batch of them nor
/// the one that commits. So a session keeps nothing between steps in its fields; what a later step
/// needs travels in the change set, as JSON (each item's <see cref="WorkItem.State"/> and the set's
/// <see cref="ChangeSet.Checkpoint"/>).
/// </summary>
public interface IConnectorSession : IAsyncDisposable
{
    /// <summary>The items to process since the last committed state; their count sets the adaptive timeout.</summary>
    Task<ChangeSet> DetectChangesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Processes one item, on a session that may not be the one that detected it. Throw
    /// <see cref="ItemFailedException"/> (or any exception) to count the item as failed without
    /// stopping the connector; return null when the item yields no document.
    /// </summary>
    Task<SyncDocument?> ProcessItemAsync(WorkItem item, CancellationToken cancellationToken);

    /// <summary>
    /// Records the new incremental state; called once, only after every item of <paramref name="detected"/>
    /// was attempted. <paramref name="detected"/> is what detection returned, read back from JSON.
    /// </summary>
    Task CommitAsync(ChangeSet detected, IReadOnlyCollection<WorkItem> succeeded, CancellationToken cancellationToken);
}

public sealed record ConnectorContext(string TenantId, string SyncId, ConnectorSettings Settings);

/// <summary>How connector state is written between a sync's steps.</summary>
public static class ConnectorJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static JsonElement ToElement<T>(T value) => JsonSerializer.SerializeToElement(value, Options);

    public static T FromElement<T>(JsonElement element) =>
        element.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
            ? throw new InvalidOperationException($"No {typeof(T).Name} state was recorded.")
            : element.Deserialize<T>(Options) ?? throw new InvalidOperationException($"The {typeof(T).Name} state is null.");
}

/// <summary>A unit of work; <see cref="Title"/> is what progress shows as the current item, <see cref="State"/> what processing it needs.</summary>
public sealed record WorkItem(string Key, string Title, JsonElement State = default)
{
    public static WorkItem Of<T>(string key, string title, T state) => new(key, title, ConnectorJson.ToElement(state));

    public T StateAs<T>() => ConnectorJson.FromElement<T>(State);
}

/// <summary>
/// The work list, anything worth telling about how it was found (a cap reached, a full resync), and
/// the connector's own state for its commit (a next cursor, deletions seen).
/// </summary>
public sealed record ChangeSet(IReadOnlyList<WorkItem> Items, IReadOnlyList<string> Notes, JsonElement Checkpoint = default)
{
    public ChangeSet(IReadOnlyList<WorkItem> items)
        : this(items, [])
    {
    }

    public static ChangeSet With<T>(IReadOnlyList<WorkItem> items, IReadOnlyList<string> notes, T checkpoint) => new(items, notes, ConnectorJson.ToElement(checkpoint));

    public T CheckpointAs<T>() => ConnectorJson.FromElement<T>(Checkpoint);
}

/// <summary>What a connector hands to the knowledge base.</summary>
public sealed record SyncDocument(string Id, string Title, string? Text, IReadOnlyDictionary<string, string> Metadata);

/// <summary>An item that could not be processed; the message is shown to users, so it holds no secret.</summary>
public sealed class ItemFailedException : Exception
{
    public ItemFailedException(string message)
        : base(message)
    {
    }

    public ItemFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ItemFailedException()
    {
    }
}

/// <summary>A connector-level failure (bad credentials, missing folder); the message is shown to users.</summary>
public sealed class ConnectorException : Exception
{
    public ConnectorException(string message)
        : base(message)
    {
    }

    public ConnectorException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ConnectorException()
    {
    }
}
