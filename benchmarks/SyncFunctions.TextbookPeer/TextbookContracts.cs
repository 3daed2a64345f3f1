using SyncFunctions.Connectors;

namespace SyncFunctions.TextbookPeer;

/// <summary>
/// One run of a tenant's sync. The instance id is the tenant's (the singleton recipe), so each run also gets an id of
/// its own (a sync id, so its operation row is keyed like the app's) to tell the runs of one instance apart.
/// </summary>
public sealed record TextbookRequest(string TenantId, string RunId);

/// <summary>One fan-out activity's input: the run and the one item it processes.</summary>
public sealed record TextbookItem(TextbookRequest Run, WorkItem Item);

/// <summary>What a run ends with, written to its operation row.</summary>
public sealed record TextbookOutcome(TextbookRequest Run, int Processed, int Failed);

/// <summary>The orchestration's custom status, as the docs' status query shows it: which run, where it is, its counts.</summary>
public sealed record TextbookStatus(string RunId, string Stage, int Total, int Processed, int Failed)
{
    public const string Running = "running";
    public const string Completed = "completed";
}

/// <summary>The fixed names of the textbook sync: its instance per tenant and its lock entity per tenant.</summary>
public static class TextbookNames
{
    public const string Connector = Connectors.Demo.DemoConnector.ConnectorName;

    /// <summary>The singleton recipe's fixed instance id: one per tenant, so "is one running?" is one instance read.</summary>
    public static string InstanceId(string tenantId) => "textbook-" + tenantId;
}
