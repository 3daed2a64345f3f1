using Azure.Core;
using Azure.Core.Pipeline;

namespace SyncFunctions.Storage;

/// <summary>
/// Optional overrides of how the storage clients authenticate and connect, for hosts that bring their
/// own: a credential other than the one the settings name, or a transport (a test's Azurite over
/// HTTPS with a self-signed certificate). Absent in normal runs.
/// </summary>
public sealed class StorageClientSetup
{
    public TokenCredential? Credential { get; init; }

    public HttpPipelineTransport? Transport { get; init; }
}
