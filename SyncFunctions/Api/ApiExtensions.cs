using System.Text.Json;
using SyncFunctions.Dashboard;
using SyncFunctions.Realtime;
using SyncFunctions.Notifications;
using SyncFunctions.Security;

namespace SyncFunctions.Api;

public static class ApiExtensions
{
    public static IServiceCollection AddApi(this IServiceCollection services)
    {
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DictionaryKeyPolicy = null; // settings keep the names their owners gave them
        });
        services.AddHealth();
        services.AddApiDocument();
        return services;
    }

    /// <summary>Errors as problem details (never a stack trace), then authentication, then the routes.</summary>
    public static WebApplication UseApi(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // A malformed body or parameter is the client's mistake, not ours.
            StatusCodeSelector = e => e is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.UseDashboard();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapHealthEndpoints();
        app.MapSyncEndpoints();
        app.MapIntegrationEndpoints();
        app.MapConnectionEndpoints();
        app.MapRealtimeEndpoints();
        app.MapApiDocument();
        app.MapNotificationEndpoints();
        if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>().Value.DevTokensEnabled)
        {
            app.MapDevTokenEndpoints();
        }

        return app;
    }
}
