using Microsoft.Extensions.Options;

namespace SyncFunctions.Security;

/// <summary>
/// Who issues the bearer tokens. In Azure: an Entra ID (or any OIDC) authority and audience. In the
/// Development environment only, the app can also sign its own tokens (<c>POST /api/dev/token</c>).
/// </summary>
public sealed class AuthOptions
{
    public const string DevIssuer = "syncfunctions-dev";
    public const string DevAudience = "syncfunctions";

    [ConfigurationKeyName("AUTH_AUTHORITY")]
    public string? Authority { get; set; }

    [ConfigurationKeyName("AUTH_AUDIENCE")]
    public string? Audience { get; set; }

    /// <summary>Development only: the HMAC key of dev tokens (at least 32 characters); random per process when unset.</summary>
    [ConfigurationKeyName("AUTH_DEV_SIGNING_KEY")]
    public string? DevSigningKey { get; set; }

    public bool DevTokensEnabled { get; set; }
}

public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        if (!options.DevTokensEnabled && string.IsNullOrWhiteSpace(options.Authority))
        {
            failures.Add("AUTH_AUTHORITY is required outside the Development environment (the token issuer, e.g. https://login.microsoftonline.com/{tenant}/v2.0).");
        }

        if (!string.IsNullOrWhiteSpace(options.Authority) && !Uri.TryCreate(options.Authority, UriKind.Absolute, out _))
        {
            failures.Add($"AUTH_AUTHORITY must be an absolute URI (was '{options.Authority}').");
        }

        if (!string.IsNullOrWhiteSpace(options.Authority) && string.IsNullOrWhiteSpace(options.Audience))
        {
            failures.Add("AUTH_AUDIENCE is required with AUTH_AUTHORITY.");
        }

        if (options.DevSigningKey is { Length: < 32 })
        {
            failures.Add("AUTH_DEV_SIGNING_KEY must be at least 32 characters.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
