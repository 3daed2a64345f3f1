namespace SyncFunctions.Orchestration;

/// <summary>This process, as named in run leases and logs.</summary>
public sealed class WorkerIdentity
{
    public string Id { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
}
