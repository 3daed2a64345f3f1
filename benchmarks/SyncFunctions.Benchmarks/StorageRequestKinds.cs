using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SyncFunctions.Benchmarks;

/// <summary>How a storage request counts in "requests per sync".</summary>
internal enum RequestClass
{
    /// <summary>Caused by a sync (or counted as such): the figure.</summary>
    Sync,

    /// <summary>A queue poll that found no message: the backend's listeners cost this whether or not anything runs.</summary>
    IdlePoll,

    /// <summary>Periodic work no sync causes: partition and host lease upkeep.</summary>
    Background,
}

/// <summary>One kind of storage request: service, method, the table/queue/container (task hub and prefix left out) and what it does there.</summary>
internal readonly record struct StorageRequestKind(RequestClass Class, string Service, string Method, string Resource, string Operation)
{
    /// <summary>The app's own tables and containers are named Sync... and sync-...; the task hub's are History, Instances, control, ...</summary>
    public bool IsApps => Resource.StartsWith("sync", StringComparison.OrdinalIgnoreCase);

    public override string ToString() => $"{Service} {Method} {Resource} {Operation}";
}

/// <summary>
/// Sorts the requests the proxy sees into sync work, idle polls and background, by what each request is. The rules
/// (from the traffic of an idle app and of single syncs: DurableTask.AzureStorage 2.11 under the WebJobs Durable
/// extension 3.18, Azurite 3.37):
/// <list type="bullet">
/// <item>Idle poll: a queue <c>GET .../messages</c> whose answer holds no <c>&lt;QueueMessage&gt;</c>. The four control
/// queues and the work-item queue are each polled about once a second (<c>maxQueuePollingInterval</c> in host.json)
/// while empty, about 5 requests/s; a poll that delivers a message is the sync's.</item>
/// <item>Background: the task hub's partition management, the <c>Partitions</c> table (seen: about 1 request/s,
/// the lease renewals of the 4 partitions and a read), and in case another configuration uses them, the <c>leases</c>
/// blob container of the older blob-lease manager and the WebJobs host's lock blobs (<c>azure-webjobs-hosts</c>; not
/// seen here). They are renewed on a timer whatever runs.</item>
/// <item>Everything else counts for the sync. Whatever else an idle app still sends (measured in an idle window, as
/// "unclassified" per second; 0 so far) is subtracted from a sync's window by rate, since it cannot be told apart per
/// request.</item>
/// </list>
/// </summary>
internal static partial class StorageRequestClassifier
{
    public static bool IsMessageFetch(string service, string method, string target) =>
        service == "queue" && method == "GET" && Split(target).Segments is [_, "messages"];

    /// <summary>An answer to a message fetch holds a message; an empty one is <c>&lt;QueueMessagesList /&gt;</c>.</summary>
    public static bool HoldsMessage(ReadOnlySpan<byte> body) => body.IndexOf("<QueueMessage>"u8) >= 0;

    /// <param name="responseHadMessages">For a message fetch: whether the answer delivered one; null otherwise (or when it failed).</param>
    public static StorageRequestKind Classify(string service, string method, string target, bool? responseHadMessages)
    {
        var (segments, query) = Split(target);
        var resource = segments.Length > 0 ? Resource(service, segments[0]) : "(account)";
        var operation = service switch
        {
            "queue" => QueueOperation(segments, query),
            "table" => TableOperation(method, segments),
            _ => BlobOperation(segments, query),
        };
        var kind = new StorageRequestKind(RequestClass.Sync, service, method, resource, operation);
        if (service == "queue" && operation == "messages" && method == "GET" && responseHadMessages == false)
        {
            return kind with { Class = RequestClass.IdlePoll };
        }

        var background = (service == "table" && resource == "Partitions")
            || (service == "blob" && resource is "leases" or "azure-webjobs-hosts");
        return background ? kind with { Class = RequestClass.Background } : kind;
    }

    /// <summary>The table each operation of a batch body (multipart/mixed) addresses, once per operation.</summary>
    public static IReadOnlyList<string> BatchTables(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body);
        return BatchOperationLine().Matches(text).Select(m => Resource("table", m.Groups[2].Value)).ToList();
    }

    private static (string[] Segments, string Query) Split(string target)
    {
        var q = target.IndexOf('?', StringComparison.Ordinal);
        var path = q < 0 ? target : target[..q];
        var query = q < 0 ? "" : target[(q + 1)..];
        // Path-style Azurite URLs: /devstoreaccount1/<resource>/...; the account is not a resource.
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray();
        return (segments, query);
    }

    /// <summary>
    /// A table, queue or container name without the run's prefix and task hub (<c>b0123456789hub-control-02</c> is
    /// <c>control</c>, <c>b0123456789hubHistory</c> is <c>History</c>), so runs and partitions add up.
    /// </summary>
    private static string Resource(string service, string segment)
    {
        var name = segment;
        var paren = name.IndexOf('(', StringComparison.Ordinal);
        if (paren >= 0)
        {
            name = name[..paren];
        }

        name = RunPrefix().Replace(name, "");
        return service == "queue" ? PartitionSuffix().Replace(name, "") : name;
    }

    private static string QueueOperation(string[] segments, string query) => segments switch
    {
        [_, "messages"] => "messages",
        [_, "messages", _] => "message",
        [] => query.Contains("comp=list", StringComparison.Ordinal) ? "list" : "service",
        _ => query.Contains("comp=metadata", StringComparison.Ordinal) ? "metadata" : "queue",
    };

    private static string TableOperation(string method, string[] segments)
    {
        if (segments is ["$batch"])
        {
            return "batch";
        }

        if (segments is [var first, ..] && first.StartsWith("Tables", StringComparison.Ordinal))
        {
            return "table";
        }

        var point = segments is [var entity] && entity.Contains("PartitionKey=", StringComparison.Ordinal);
        return method == "GET" ? (point ? "point read" : "query") : "entity";
    }

    private static string BlobOperation(string[] segments, string query)
    {
        var comp = Param(query, "comp");
        if (segments.Length <= 1)
        {
            return comp is null ? "container" : $"container {comp}";
        }

        return comp is null ? "blob" : $"blob {comp}";
    }

    private static string? Param(string query, string name) =>
        query.Split('&').Select(p => p.Split('=', 2)).Where(p => p[0] == name).Select(p => p.Length > 1 ? p[1] : "").FirstOrDefault();

    [GeneratedRegex("^b[0-9a-f]{10}(hub)?-?")]
    private static partial Regex RunPrefix();

    [GeneratedRegex("-[0-9]+$")]
    private static partial Regex PartitionSuffix();

    [GeneratedRegex(@"^(POST|PUT|MERGE|PATCH|DELETE|GET) \S*?/devstoreaccount1/([A-Za-z0-9]+)", RegexOptions.Multiline)]
    private static partial Regex BatchOperationLine();
}

/// <summary>The proxy's counts over one window: requests by kind, operations inside table batches by table, and the window's length.</summary>
internal sealed record StorageTally(IReadOnlyDictionary<StorageRequestKind, long> Requests, IReadOnlyDictionary<string, long> BatchedOperations, TimeSpan Window)
{
    public long Count(RequestClass c) => Requests.Where(kv => kv.Key.Class == c).Sum(kv => kv.Value);

    /// <summary>Requests of one class to the app's own tables and containers (named Sync..., sync-...) or to the Durable backend's (the rest).</summary>
    public long CountOwned(RequestClass c, bool app) => Requests.Where(kv => kv.Key.Class == c && kv.Key.IsApps == app).Sum(kv => kv.Value);

    /// <summary>Per service and method ("queue 41: DELETE 8, GET 9, ..."), divided by <paramref name="per"/>.</summary>
    public string ServiceSummary(RequestClass c, double per = 1) =>
        string.Join("; ", Requests.Where(kv => kv.Key.Class == c)
            .GroupBy(kv => kv.Key.Service, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} {N(g.Sum(kv => kv.Value) / per)}: " + string.Join(", ", g
                .GroupBy(kv => kv.Key.Method, StringComparer.Ordinal)
                .OrderBy(m => m.Key, StringComparer.Ordinal)
                .Select(m => $"{m.Key} {N(m.Sum(kv => kv.Value) / per)}"))));

    /// <summary>Every kind of one class with its count divided by <paramref name="per"/>, for the JSON.</summary>
    public Dictionary<string, double> Kinds(RequestClass c, double per = 1) =>
        Requests.Where(kv => kv.Key.Class == c)
            .OrderBy(kv => kv.Key.ToString(), StringComparer.Ordinal)
            .ToDictionary(kv => kv.Key.ToString(), kv => Math.Round(kv.Value / per, 2), StringComparer.Ordinal);

    public string BatchSummary(double per = 1) =>
        BatchedOperations.Count == 0
            ? "none"
            : string.Join(", ", BatchedOperations.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {N(kv.Value / per)}"));

    private static string N(double v) => v.ToString(v == Math.Floor(v) ? "0" : "0.0", CultureInfo.InvariantCulture);
}

/// <summary>
/// What an app sends with no sync running, per second, from a window measured with none: idle polls and background
/// (excluded per request) and the rest, which a sync's window cannot tell from its own and subtracts by time.
/// </summary>
internal sealed record IdleRates(double IdlePollsPerSecond, double BackgroundPerSecond, double UnclassifiedPerSecond, StorageTally Idle)
{
    public static IdleRates From(StorageTally idle)
    {
        var seconds = idle.Window.TotalSeconds;
        return new(idle.Count(RequestClass.IdlePoll) / seconds, idle.Count(RequestClass.Background) / seconds, idle.Count(RequestClass.Sync) / seconds, idle);
    }

    /// <summary>A window's sync requests less what an idle app would have sent in it unclassified.</summary>
    public double SyncRequests(StorageTally window) => Math.Max(0, window.Count(RequestClass.Sync) - (UnclassifiedPerSecond * window.Window.TotalSeconds));
}
