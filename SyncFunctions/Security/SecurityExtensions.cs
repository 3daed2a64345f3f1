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
}
