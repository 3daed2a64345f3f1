using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace SyncFunctions.Telemetry;

/// <summary>
/// OpenTelemetry: traces (HTTP in and out, the Azure SDK's storage calls, the engine's sync spans),
/// metrics and logs (with their scopes, so each line carries sync_id and tenant_id), exported to
/// Application Insights when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set (with an Entra token
/// when <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c> asks for AAD, as local auth is off there), to
/// OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and otherwise to the console only when
/// <c>SYNC_TELEMETRY_CONSOLE=true</c> asks: metric dumps there buried the log lines operators read.
/// </summary>
public static class TelemetryExtensions
{
    public static IHostApplicationBuilder AddTelemetry(this IHostApplicationBuilder builder)
    {
        // The Azure SDK emits spans for its calls (storage, SignalR token requests) only when asked.
        AppContext.SetSwitch("Azure.Experimental.EnableActivitySource", true);
        var configuration = builder.Configuration;
        var appInsights = configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"];
        var otlp = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var console = string.IsNullOrEmpty(appInsights) && string.IsNullOrEmpty(otlp) && configuration.GetValue("SYNC_TELEMETRY_CONSOLE", false);
        var useEntra = (configuration["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] ?? "").Contains("Authorization=AAD", StringComparison.OrdinalIgnoreCase);

        builder.Services.AddSingleton<SyncMetrics>();
        builder.Services.AddSingleton<Progress.ISyncEndListener, SyncMetricsEndListener>();
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeScopes = true;
            logging.IncludeFormattedMessage = true;
        });

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("SyncFunctions", serviceInstanceId: Environment.MachineName))
            .WithTracing(tracing => tracing
                .AddSource(SyncMetrics.SourceName, "Azure.*")
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal))
                .AddHttpClientInstrumentation())
            .WithMetrics(metrics => metrics
                .AddMeter(SyncMetrics.SourceName, StorageRequestCounter.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation());

        if (!string.IsNullOrEmpty(appInsights))
        {
            otel.UseAzureMonitorExporter(o =>
            {
                o.ConnectionString = appInsights;
                if (useEntra)
                {
                    o.Credential = new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = configuration["AZURE_CLIENT_ID"] });
                }
            });
        }

        if (!string.IsNullOrEmpty(otlp))
        {
            otel.UseOtlpExporter();
        }

        if (console)
        {
            // Only the engine's spans: every poll and storage call on a terminal would bury them.
            otel.WithTracing(t => t.AddProcessor(new EngineSpansOnly(new SimpleActivityExportProcessor(new OpenTelemetry.Exporter.ConsoleActivityExporter(new OpenTelemetry.Exporter.ConsoleExporterOptions())))))
                .WithMetrics(m => m.AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 30_000));
        }

        return builder;
    }

    /// <summary>Passes on the spans of the engine's own source and drops the rest.</summary>
    private sealed class EngineSpansOnly(BaseProcessor<System.Diagnostics.Activity> inner) : BaseProcessor<System.Diagnostics.Activity>
    {
        public override void OnEnd(System.Diagnostics.Activity data)
        {
            if (data.Source.Name == SyncMetrics.SourceName)
            {
                inner.OnEnd(data);
            }
        }

        protected override bool OnForceFlush(int timeoutMilliseconds) => inner.ForceFlush(timeoutMilliseconds);

        protected override bool OnShutdown(int timeoutMilliseconds) => inner.Shutdown(timeoutMilliseconds);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
