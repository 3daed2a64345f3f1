using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Microsoft.AspNetCore.DataProtection;
using SyncFunctions.Storage;

namespace SyncFunctions.Connectors;

/// <summary>A tenant's configured connector: settings in clear, secrets only as ciphertext.</summary>
public sealed record ConnectorConnection(string TenantId, string Connector, ConnectorSettings Settings, DateTimeOffset UpdatedAt)
{
    public IReadOnlyCollection<string> SecretNames => Settings.Secrets.Keys.Order(StringComparer.Ordinal).ToArray();
}

public sealed class ConnectionEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";

    public string RowKey { get; set; } = "";

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public string Settings { get; set; } = "{}";

    /// <summary>Data Protection ciphertext of the secrets' JSON; never leaves the server in clear.</summary>
    public string? ProtectedSecrets { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// Connections per tenant (PartitionKey) and connector (RowKey). Secrets are write-only: they are
/// protected with ASP.NET Core Data Protection before they are stored, and only connectors see them.
/// </summary>
public sealed class ConnectionStore(SyncStorage storage, IDataProtectionProvider protection, TimeProvider time)
{
    private readonly IDataProtector _protector = protection.CreateProtector("SyncFunctions.Connections.Secrets.v1");

    private TableClient Table => storage.Connections;

    public async Task<IReadOnlyList<ConnectorConnection>> ListAsync(string tenantId, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {tenantId}");
        var list = new List<ConnectorConnection>();
        await foreach (var entity in Table.QueryAsync<ConnectionEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(ToConnection(entity));
        }

        return list;
    }

    public async Task<ConnectorConnection?> GetAsync(string tenantId, string connector, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<ConnectionEntity>(tenantId, connector, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue && response.Value is { } entity ? ToConnection(entity) : null;
    }

    public async Task<ConnectorConnection> UpsertAsync(string tenantId, string connector, ConnectorSettings settings, CancellationToken cancellationToken)
    {
        var entity = new ConnectionEntity
        {
            PartitionKey = tenantId,
            RowKey = connector,
            Settings = JsonSerializer.Serialize(settings.Values),
            ProtectedSecrets = settings.Secrets.Count == 0 ? null : _protector.Protect(JsonSerializer.Serialize(settings.Secrets)),
            UpdatedAt = time.GetUtcNow(),
        };
        await Table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        return new ConnectorConnection(tenantId, connector, settings, entity.UpdatedAt);
    }

    public async Task<bool> DeleteAsync(string tenantId, string connector, CancellationToken cancellationToken)
    {
        try
        {
            // The SDK answers a missing entity with a 404 response, not an exception.
            var response = await Table.DeleteEntityAsync(tenantId, connector, ETag.All, cancellationToken).ConfigureAwait(false);
            return response.Status != StatusCodes.Status404NotFound;
        }
        catch (RequestFailedException e) when (e.IsNotFound())
        {
            return false;
        }
    }

    private ConnectorConnection ToConnection(ConnectionEntity entity)
    {
        var values = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(entity.Settings) ?? [];
        var secrets = entity.ProtectedSecrets is null
            ? []
            : JsonSerializer.Deserialize<Dictionary<string, string>>(_protector.Unprotect(entity.ProtectedSecrets)) ?? [];
        return new ConnectorConnection(entity.PartitionKey, entity.RowKey, new ConnectorSettings(values, secrets), entity.UpdatedAt);
    }
}
