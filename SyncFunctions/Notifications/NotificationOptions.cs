using Microsoft.Extensions.Options;

namespace SyncFunctions.Notifications;

/// <summary>What every transport shares: the dashboard link in the mail and the retry schedule.</summary>
public sealed class NotificationOptions
{
    public const string DashboardUrlVariable = "SYNC_DASHBOARD_URL";

    [ConfigurationKeyName(DashboardUrlVariable)]
    public string DashboardUrl { get; set; } = "http://localhost:5080/";

    /// <summary>Send attempts per e-mail before it is given up as failed.</summary>
    [ConfigurationKeyName("SYNC_NOTIFICATION_MAX_ATTEMPTS")]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The first wait between attempts; each later wait doubles it.</summary>
    [ConfigurationKeyName("SYNC_NOTIFICATION_RETRY_SECONDS")]
    public int RetrySeconds { get; set; } = 10;

    public Uri DashboardUri => new(DashboardUrl.EndsWith('/') ? DashboardUrl : DashboardUrl + "/", UriKind.Absolute);

    /// <summary>The wait after the given failed attempt (1-based): 10 s, 20 s, 40 s, … at most 5 minutes.</summary>
    public TimeSpan Backoff(int attempt) =>
        TimeSpan.FromSeconds(Math.Min(300, RetrySeconds * Math.Pow(2, Math.Max(0, attempt - 1))));
}

/// <summary>SMTP (MailKit), on when <c>SMTP_HOST</c> is set. The variable names are the operations guide's.</summary>
public sealed class SmtpOptions
{
    [ConfigurationKeyName("SMTP_HOST")]
    public string? Host { get; set; }

    [ConfigurationKeyName("SMTP_PORT")]
    public int Port { get; set; } = 587;

    [ConfigurationKeyName("SMTP_USER")]
    public string? User { get; set; }

    [ConfigurationKeyName("SMTP_PASSWORD")]
    public string? Password { get; set; }

    [ConfigurationKeyName("SMTP_FROM_EMAIL")]
    public string? FromEmail { get; set; }

    [ConfigurationKeyName("SMTP_FROM_NAME")]
    public string FromName { get; set; } = "SyncFunctions";

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Host);
}

/// <summary>
/// Azure Communication Services e-mail (REST, Entra token), on when <c>ACS_EMAIL_ENDPOINT</c> is set.
/// The names match the app settings the infrastructure writes.
/// </summary>
public sealed class AcsEmailOptions
{
    [ConfigurationKeyName("ACS_EMAIL_ENDPOINT")]
    public string? Endpoint { get; set; }

    /// <summary>A sender of a domain connected to the resource, e.g. <c>DoNotReply@&lt;guid&gt;.azurecomm.net</c>.</summary>
    [ConfigurationKeyName("ACS_EMAIL_SENDER")]
    public string? Sender { get; set; }

    /// <summary>How long to follow an accepted send before its outcome counts as unknown.</summary>
    [ConfigurationKeyName("ACS_EMAIL_POLL_TIMEOUT_SECONDS")]
    public int PollTimeoutSeconds { get; set; } = 120;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Endpoint);

    public Uri EndpointUri => new(Endpoint!.EndsWith('/') ? Endpoint : Endpoint + "/", UriKind.Absolute);
}

/// <summary>Names the offending variable, so a bad deployment stops at start with an actionable message.</summary>
public sealed class NotificationOptionsValidator(IOptions<SmtpOptions> smtp, IOptions<AcsEmailOptions> acs) : IValidateOptions<NotificationOptions>
{
    public ValidateOptionsResult Validate(string? name, NotificationOptions options)
    {
        var failures = new List<string>();
        if (!Uri.TryCreate(options.DashboardUrl, UriKind.Absolute, out var dashboard) || (dashboard.Scheme != Uri.UriSchemeHttp && dashboard.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{NotificationOptions.DashboardUrlVariable} must be an absolute http(s) URL (was '{options.DashboardUrl}').");
        }

        if (options.MaxAttempts is < 1 or > 20)
        {
            failures.Add($"SYNC_NOTIFICATION_MAX_ATTEMPTS must be between 1 and 20 (was {options.MaxAttempts}).");
        }

        if (options.RetrySeconds is < 1 or > 300)
        {
            failures.Add($"SYNC_NOTIFICATION_RETRY_SECONDS must be between 1 and 300 (was {options.RetrySeconds}).");
        }

        var s = smtp.Value;
        var a = acs.Value;
        if (s.IsConfigured && a.IsConfigured)
        {
            failures.Add("Set SMTP_HOST or ACS_EMAIL_ENDPOINT, not both: they choose the e-mail transport.");
        }

        if (s.IsConfigured)
        {
            if (s.Port is < 1 or > 65535)
            {
                failures.Add($"SMTP_PORT must be between 1 and 65535 (was {s.Port}).");
            }

            if (!EmailAddresses.IsValid(s.FromEmail))
            {
                failures.Add($"SMTP_FROM_EMAIL must be an e-mail address when SMTP_HOST is set (was '{s.FromEmail}').");
            }

            if (string.IsNullOrEmpty(s.User) != string.IsNullOrEmpty(s.Password))
            {
                failures.Add("Set both SMTP_USER and SMTP_PASSWORD, or neither.");
            }
        }

        if (a.IsConfigured)
        {
            // https only, except a loopback stand-in (tests); the bearer token must never cross a network in clear.
            if (!Uri.TryCreate(a.Endpoint, UriKind.Absolute, out var endpoint) || !(endpoint.Scheme == Uri.UriSchemeHttps || (endpoint.Scheme == Uri.UriSchemeHttp && endpoint.IsLoopback)))
            {
                failures.Add($"ACS_EMAIL_ENDPOINT must be an https URL such as https://<resource>.communication.azure.com (was '{a.Endpoint}').");
            }

            if (!EmailAddresses.IsValid(a.Sender))
            {
                failures.Add($"ACS_EMAIL_SENDER must be an e-mail address of a domain connected to the resource when ACS_EMAIL_ENDPOINT is set (was '{a.Sender}').");
            }

            if (a.PollTimeoutSeconds is < 1 or > 3_600)
            {
                failures.Add($"ACS_EMAIL_POLL_TIMEOUT_SECONDS must be between 1 and 3600 (was {a.PollTimeoutSeconds}).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
