using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Azure.Core;
using Azure.Core.Pipeline;

namespace SyncFunctions.Telemetry;

/// <summary>
/// Counts every HTTP request the storage clients send (retries included), by service and method, as
/// the metric <c>syncfunctions.storage.requests</c> and as a snapshot for tests and benchmarks: what a
/// sync costs in storage operations is a number we keep an eye on.
/// </summary>
public sealed class StorageRequestCounter : IDisposable
{
    public const string MeterName = "SyncFunctions.Storage";

    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _requests;

    public StorageRequestCounter() => _requests = _meter.CreateCounter<long>("syncfunctions.storage.requests", description: "Storage requests sent, retries included.");

    public IReadOnlyDictionary<string, long> Snapshot() => new Dictionary<string, long>(_counts, StringComparer.Ordinal);

    public long Total => _counts.Values.Sum();

    /// <summary>The policy to add to one service's clients, so each request is counted under its service.</summary>
    public HttpPipelinePolicy For(string service) => new ServicePolicy(this, service);

    public void Dispose() => _meter.Dispose();

    private void Count(string service, HttpMessage message)
    {
        var method = message.Request.Method.ToString();
        _counts.AddOrUpdate($"{service} {method}", 1, (_, n) => n + 1);
        _requests.Add(1, new KeyValuePair<string, object?>("service", service), new KeyValuePair<string, object?>("method", method));
    }

    private sealed class ServicePolicy(StorageRequestCounter counter, string service) : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            counter.Count(service, message);
            ProcessNext(message, pipeline);
        }

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            counter.Count(service, message);
            return ProcessNextAsync(message, pipeline);
        }
    }
}
