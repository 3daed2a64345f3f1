using Microsoft.Extensions.Configuration.Memory;

namespace SyncFunctions.LocalHost.Durable;

/// <summary>
/// host.json as the Functions host reads it: the WebJobs SDK binds each extension's options from
/// <c>AzureWebJobs:extensions:&lt;name&gt;</c>, so the Durable extension here takes the very settings
/// (hub name, storage provider, polling) it takes in Azure. Below every other source, so settings
/// and environment variables can still override a value.
/// </summary>
public static class HostJson
{
    public const string FileName = "host.json";
    private const string WebJobsRoot = "AzureWebJobs";

    /// <summary>host.json's <c>logging</c> section (its <c>logLevel</c> reads as the logging configuration's <c>LogLevel</c>).</summary>
    public const string LoggingSection = WebJobsRoot + ":logging";

    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, FileName);

    /// <param name="defaults">Settings host.json refers to, at the same lowest priority.</param>
    public static ConfigurationManager AddHostJson(this ConfigurationManager configuration, string path, IReadOnlyDictionary<string, string?> defaults)
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} is missing: the local host reads the Function App's host.json from its output folder.");
        }

        var hostJson = new ConfigurationBuilder().AddJsonFile(path, optional: false).Build();
        var values = hostJson.AsEnumerable()
            .Where(kv => kv.Value is not null)
            .ToDictionary(kv => $"{WebJobsRoot}:{kv.Key}", kv => kv.Value, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in defaults)
        {
            values[key] = value;
        }

        ((IList<IConfigurationSource>)configuration.Sources).Insert(0, new MemoryConfigurationSource { InitialData = values });
        return configuration;
    }

    /// <summary>The HTTP route prefix host.json sets (<c>extensions.http.routePrefix</c>), "api" when it sets none, as in Azure.</summary>
    public static string RoutePrefix(IConfiguration configuration) =>
        configuration[$"{WebJobsRoot}:extensions:http:routePrefix"] ?? "api";
}
