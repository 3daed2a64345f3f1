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

/// <summary>One connected use of a connector, for one run.</summary>
public interface IConnectorSession : IAsyncDisposable
{
    /// <summary>The items to process since the last committed state; their count sets the adaptive timeout.</summary>
    Task<ChangeSet> DetectChangesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Processes one item. Throw <see cref="ItemFailedException"/> (or any exception) to count the item
    /// as failed without stopping the connector; return null when the item yields no document.
    /// </summary>
    Task<SyncDocument?> ProcessItemAsync(WorkItem item, CancellationToken cancellationToken);

    /// <summary>Records the new incremental state; called once, only after every item was attempted.</summary>
    Task CommitAsync(IReadOnlyCollection<WorkItem> succeeded, CancellationToken cancellationToken);
}

public sealed record ConnectorContext(string TenantId, string SyncId, ConnectorSettings Settings);

/// <summary>A unit of work; <see cref="Title"/> is what progress shows as the current item.</summary>
public sealed record WorkItem(string Key, string Title, object? State = null);

/// <summary>The work list, and anything worth telling about how it was found (a cap reached, a full resync).</summary>
public sealed record ChangeSet(IReadOnlyList<WorkItem> Items, IReadOnlyList<string> Notes)
{
    public ChangeSet(IReadOnlyList<WorkItem> items)
        : this(items, [])
    {
    }
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
