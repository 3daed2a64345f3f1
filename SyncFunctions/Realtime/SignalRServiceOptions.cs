using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace SyncFunctions.Realtime;

/// <summary>
/// Azure SignalR Service in serverless mode. <c>AZURE_SIGNALR_ENDPOINT</c> with an Entra identity
/// (DefaultAzureCredential; <c>AZURE_CLIENT_ID</c> names a user-assigned identity), or
/// <c>AZURE_SIGNALR_CONNECTION_STRING</c> (<c>Endpoint=…;AccessKey=…;Version=1.0;</c>). Neither set: the
/// in-process hub serves clients.
/// </summary>
public sealed partial class SignalRServiceOptions
{
    public const string ApiVersion = "2024-12-01";

    [ConfigurationKeyName("AZURE_SIGNALR_ENDPOINT")]
    public string? Endpoint { get; set; }

    [ConfigurationKeyName("AZURE_SIGNALR_CONNECTION_STRING")]
    public string? ConnectionString { get; set; }

    [ConfigurationKeyName("AZURE_SIGNALR_HUB")]
    public string Hub { get; set; } = "sync";

    public bool Enabled => ResolvedEndpoint is not null;

    /// <summary>The service's URL, from the connection string or the endpoint setting.</summary>
    public Uri? ResolvedEndpoint
    {
        get
        {
            var value = Part("Endpoint") ?? Endpoint;
            return string.IsNullOrWhiteSpace(value) ? null : new Uri(value.TrimEnd('/'));
        }
    }

    /// <summary>The access key when the connection string has one; null means Entra authentication.</summary>
    public string? AccessKey => Part("AccessKey");

    public static bool IsValidHubName(string hub) => HubPattern().IsMatch(hub);

    private string? Part(string name)
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            return null;
        }

        foreach (var part in ConnectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && part[..equals].Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return part[(equals + 1)..];
            }
        }

        return null;
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,127}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex HubPattern();
}

public sealed class SignalRServiceOptionsValidator : IValidateOptions<SignalRServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, SignalRServiceOptions options)
    {
        if (!SignalRServiceOptions.IsValidHubName(options.Hub))
        {
            return ValidateOptionsResult.Fail($"AZURE_SIGNALR_HUB must start with a letter and hold only letters, digits or '_' (was '{options.Hub}').");
        }

        if (!string.IsNullOrWhiteSpace(options.ConnectionString) && !Uri.TryCreate(ReadEndpoint(options), UriKind.Absolute, out _))
        {
            return ValidateOptionsResult.Fail("AZURE_SIGNALR_CONNECTION_STRING has no valid Endpoint=https://… part.");
        }

        if (!string.IsNullOrWhiteSpace(options.Endpoint) && !Uri.TryCreate(options.Endpoint, UriKind.Absolute, out _))
        {
            return ValidateOptionsResult.Fail($"AZURE_SIGNALR_ENDPOINT must be an absolute URL (was '{options.Endpoint}').");
        }

        return ValidateOptionsResult.Success;
    }

    private static string? ReadEndpoint(SignalRServiceOptions options)
    {
        var endpoint = options.ConnectionString!.Split(';', StringSplitOptions.TrimEntries)
            .FirstOrDefault(p => p.StartsWith("Endpoint=", StringComparison.OrdinalIgnoreCase));
        return endpoint?["Endpoint=".Length..];
    }
}
