using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace SyncFunctions.Security;

public static class SecurityExtensions
{
    public static IServiceCollection AddSecurity(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        services.AddOptions<AuthOptions>()
            .Bind(configuration)
            // Dev tokens only in Development and only when no real issuer is configured.
            .PostConfigure(o => o.DevTokensEnabled = environment.IsDevelopment() && string.IsNullOrWhiteSpace(o.Authority))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddSingleton<DevTokenIssuer>();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>, DevTokenIssuer>((jwt, auth, dev) =>
            {
                var o = auth.Value;
                jwt.MapInboundClaims = false; // keep tid, email and roles as the issuer named them
                jwt.Events = new JwtBearerEvents { OnMessageReceived = QueryTokenForStreams, OnChallenge = ChallengeAsProblem };
                jwt.TokenValidationParameters.RoleClaimType = "roles";
                jwt.TokenValidationParameters.NameClaimType = "email";
                if (o.DevTokensEnabled)
                {
                    jwt.TokenValidationParameters.ValidIssuer = AuthOptions.DevIssuer;
                    jwt.TokenValidationParameters.ValidAudience = AuthOptions.DevAudience;
                    jwt.TokenValidationParameters.IssuerSigningKey = dev.Key;
                }
                else
                {
                    jwt.Authority = o.Authority;
                    jwt.Audience = o.Audience;
                }
            });
        services.AddAuthorization();
        return services;
    }

    /// <summary>
    /// The in-process hub's [Authorize] challenge (the functions authenticate themselves): the same 401
    /// problem details and WWW-Authenticate as every other route, instead of an empty body.
    /// </summary>
    private static async Task ChallengeAsProblem(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        context.Response.Headers.WWWAuthenticate = "Bearer";
        await Api.ApiProblems.Unauthorized.ExecuteAsync(context.HttpContext).ConfigureAwait(false);
    }

    /// <summary>
    /// Browsers cannot set headers on WebSockets or EventSource, so the hub's transports (<c>/api</c>)
    /// and the progress streams take the token from <c>?access_token=</c>; every other route needs the header.
    /// </summary>
    private static Task QueryTokenForStreams(MessageReceivedContext context)
    {
        var path = context.Request.Path;
        var streaming = path.Equals("/api", StringComparison.Ordinal)
            || (path.StartsWithSegments("/api/sync-progress", StringComparison.Ordinal) && path.Value!.EndsWith("/stream", StringComparison.Ordinal));
        if (streaming && context.Request.Query.TryGetValue("access_token", out var token))
        {
            context.Token = token.ToString();
        }

        return Task.CompletedTask;
    }
}
