using System.Text.Json;
using System.Text.Json.Serialization;
using SyncFunctions.Progress;
using SyncFunctions.Security;

namespace SyncFunctions.Orchestration;

/// <summary>The body of a <c>sync-runs</c> queue message: which operation to run. Nothing else is trusted.</summary>
public sealed record RunMessage(
    [property: JsonPropertyName("tenant_id")] string TenantId,
    [property: JsonPropertyName("sync_id")] string SyncId)
{
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Null for anything that is not a well-formed message naming a valid tenant and sync id.</summary>
    public static RunMessage? TryParse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 4096)
        {
            return null;
        }

        try
        {
            var message = JsonSerializer.Deserialize<RunMessage>(text);
            return message is not null && InputRules.IsValidTenantId(message.TenantId) && Progress.SyncId.IsValid(message.SyncId) ? message : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>One delivery of a run message, however it arrived (the local listener or the Functions host).</summary>
public sealed record RunInvocation(RunMessage Message, string MessageId, long DequeueCount);

/// <summary>Keeps a run's queue message hidden while the run lives. The Functions host does this itself.</summary>
public interface IRunMessageLease
{
    Task ExtendAsync(CancellationToken cancellationToken);
}

public enum RunDisposition
{
    /// <summary>Finished with the message: delete it.</summary>
    Done,

    /// <summary>Look again later: hide the message for <see cref="RunOutcome.Delay"/>.</summary>
    Defer,

    /// <summary>This instance is stopping: show the message again at once so another instance resumes.</summary>
    Abandon,

    /// <summary>Retries are exhausted and the operation was failed: move the message to the poison queue.</summary>
    Poison,
}

public sealed record RunOutcome(RunDisposition Disposition, TimeSpan Delay)
{
    public static readonly RunOutcome Done = new(RunDisposition.Done, TimeSpan.Zero);
    public static readonly RunOutcome Abandon = new(RunDisposition.Abandon, TimeSpan.Zero);
    public static readonly RunOutcome Poison = new(RunDisposition.Poison, TimeSpan.Zero);

    public static RunOutcome Defer(TimeSpan delay) => new(RunDisposition.Defer, delay);
}
