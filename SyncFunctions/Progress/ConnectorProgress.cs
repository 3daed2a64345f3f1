using System.Text.Json.Serialization;

namespace SyncFunctions.Progress;

/// <summary>One connector's part of an operation, stored as JSON on the operation row.</summary>
public sealed class ConnectorProgress
{
    public const int MaxFailureSamples = 5;
    public const int MaxNotes = 10;

    public string Connector { get; set; } = "";

    public string Status { get; set; } = SyncStatus.Queued;

    public string Stage { get; set; } = SyncStage.Initializing;

    public int TotalItems { get; set; }

    public int ProcessedItems { get; set; }

    public int FailedItems { get; set; }

    /// <summary>Items being processed right now.</summary>
    public int InFlightItems { get; set; }

    public string? CurrentItem { get; set; }

    public string? ErrorMessage { get; set; }

    public string? FailureReason { get; set; }

    public int? ExpectedDurationSeconds { get; set; }

    public List<ItemFailure> FailureSamples { get; set; } = [];

    /// <summary>What the connector said of how it found its work: a cap reached, a full resync.</summary>
    public List<string> Notes { get; set; } = [];

    /// <summary>The connector's work list is known: <see cref="ExpectedDurationSeconds"/> is set with its total.</summary>
    [JsonIgnore]
    public bool ItemsKnown => ExpectedDurationSeconds is not null;

    public int Percentage => ProgressMath.Percentage(ItemsKnown ? TotalItems : null, ProcessedItems + FailedItems, Status == SyncStatus.Completed);
}

public sealed record ItemFailure(string Item, string Reason);
