using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace SyncFunctions.Api;

/// <summary>
/// The HTTP contract as an OpenAPI document at <c>/openapi/v1.json</c>, and in Development a browsable
/// reference at <c>/scalar</c>. The Functions host's invocation routes and the dev token are left out:
/// they are not part of the contract.
/// </summary>
public static class OpenApiEndpoints
{
    public const string BearerScheme = "Bearer";

    public static IServiceCollection AddApiDocument(this IServiceCollection services)
    {
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "SyncFunctions";
                document.Info.Description = "Sync operations of a multi-tenant knowledge base: trigger, progress, history, cancel, cleanup and connections. "
                    + "Every route but health needs a bearer token whose tid names the tenant.";
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    BearerFormat = "JWT",
                    Description = "A token of the configured issuer (AUTH_AUTHORITY); in Development, from POST /api/dev/token.",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                // Only routes that require an authenticated caller say so; health stays open.
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                if (metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any())
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement
                    {
                        [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [],
                    });
                }

                return Task.CompletedTask;
            });
        });
        return services;
    }

    public static WebApplication MapApiDocument(this WebApplication app)
    {
        app.MapOpenApi().AllowAnonymous();
        if (app.Environment.IsDevelopment())
        {
            // Scalar's script is served from the package itself; its default web fonts would come from
            // a CDN, so they are off, and so are its telemetry and hosted agent.
            app.MapScalarApiReference(options => options
                .WithTitle("SyncFunctions API")
                .DisableDefaultFonts()
                .DisableTelemetry()
                .DisableAgent()).AllowAnonymous();
        }

        return app;
    }
}
