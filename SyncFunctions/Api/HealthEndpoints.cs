using Microsoft.Extensions.Diagnostics.HealthChecks;
using SyncFunctions.Storage;

namespace SyncFunctions.Api;

/// <summary>Readiness: the locks table answers (the one every trigger and run needs first).</summary>
public sealed class StorageHealthCheck(SyncStorage storage) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await foreach (var _ in storage.Locks.QueryAsync<Azure.Data.Tables.TableEntity>(maxPerPage: 1, select: ["PartitionKey"], cancellationToken: timeout.Token).AsPages(pageSizeHint: 1).ConfigureAwait(false))
            {
                break;
            }

            return HealthCheckResult.Healthy();
        }
        catch (Azure.RequestFailedException e)
        {
            return HealthCheckResult.Unhealthy($"Table storage answered {e.Status}.");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("Table storage did not answer within 5 s.");
        }
    }
}

public static class HealthEndpoints
{
    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage", tags: ["ready"]);
        return services;
    }

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        // Minimal-API handlers rather than MapHealthChecks, so that the OpenAPI document lists them.
        var group = app.MapGroup("/health").AllowAnonymous().WithTags("Health");
        group.MapGet("/live", () => TypedResults.Text(nameof(HealthStatus.Healthy)))
            .WithName("Live").WithSummary("Liveness: the process answers").Produces<string>(StatusCodes.Status200OK, "text/plain");
        group.MapGet("/ready", ReadyAsync)
            .WithName("Ready").WithSummary("Readiness: table storage answers")
            .Produces<string>(StatusCodes.Status200OK, "text/plain").Produces<string>(StatusCodes.Status503ServiceUnavailable, "text/plain");
        return app;
    }

    private static async Task<IResult> ReadyAsync(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(c => c.Tags.Contains("ready"), cancellationToken).ConfigureAwait(false);
        return TypedResults.Text(
            report.Status.ToString(),
            "text/plain",
            statusCode: report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
    }
}
