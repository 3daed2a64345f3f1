using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SyncFunctions.Storage;

namespace SyncFunctions.Api;

/// <summary>Readiness: the operations table answers (the one every trigger and status read needs first).</summary>
public sealed class StorageHealthCheck(SyncStorage storage) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await foreach (var _ in storage.Operations.QueryAsync<Azure.Data.Tables.TableEntity>(maxPerPage: 1, select: ["PartitionKey"], cancellationToken: timeout.Token).AsPages(pageSizeHint: 1).ConfigureAwait(false))
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

public static class HealthExtensions
{
    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage", tags: ["ready"]);
        return services;
    }
}

/// <summary>/health/live and /health/ready, open to probes (no token).</summary>
public sealed class HealthFunctions(HealthCheckService health)
{
    [Function("Live")]
    public static Task<IActionResult> LiveAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health/live")] HttpRequest request) =>
        ApiFunction.AnonymousAsync(request, () => Task.FromResult<IResult>(TypedResults.Text(nameof(HealthStatus.Healthy))));

    [Function("Ready")]
    public Task<IActionResult> ReadyAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health/ready")] HttpRequest request) =>
        ApiFunction.AnonymousAsync(request, async () =>
        {
            var report = await health.CheckHealthAsync(c => c.Tags.Contains("ready"), request.HttpContext.RequestAborted).ConfigureAwait(false);
            return TypedResults.Text(
                report.Status.ToString(),
                "text/plain",
                statusCode: report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
        });
}
