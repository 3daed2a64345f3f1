namespace SyncFunctions.Connectors;

/// <summary>The connectors this server knows, by name.</summary>
public sealed class ConnectorRegistry(IEnumerable<IConnector> connectors)
{
    private readonly Dictionary<string, IConnector> _byName = connectors.ToDictionary(c => c.Name, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Names => _byName.Keys;

    public bool TryGet(string name, out IConnector connector) => _byName.TryGetValue(name, out connector!);
}
