using System.Text.Json;
using Grpc.Net.Client;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;

namespace SyncFunctions.LocalHost.Durable;

/// <summary>
/// The <see cref="DurableTaskClient"/> that HTTP, timer and activity functions get for
/// <c>[DurableClient]</c>: a gRPC client on the extension's local endpoint, whose address the
/// extension hands out in the client binding's payload (<c>rpcBaseUrl</c>), as it does to the worker.
/// </summary>
public sealed class LocalDurableClient(DataConverter converter, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly TaskCompletionSource<DurableTaskClient> _client = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private GrpcChannel? _channel;

    public Task<DurableTaskClient> GetAsync(CancellationToken cancellationToken) => _client.Task.WaitAsync(cancellationToken);

    internal void Connect(string payload)
    {
        using var document = JsonDocument.Parse(payload);
        var address = document.RootElement.TryGetProperty("rpcBaseUrl", out var url) && url.GetString() is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("The Durable extension's client payload has no rpcBaseUrl: is FUNCTIONS_WORKER_RUNTIME dotnet-isolated?");
        _channel = GrpcChannel.ForAddress(address);
        _client.TrySetResult(new GrpcDurableTaskClient("local", new GrpcDurableTaskClientOptions
        {
            Channel = _channel,
            EnableEntitySupport = true,
            DataConverter = converter,
        }, loggers.CreateLogger<GrpcDurableTaskClient>()));
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.Task.IsCompletedSuccessfully)
        {
            await (await _client.Task.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
        }

        _channel?.Dispose();
    }
}
