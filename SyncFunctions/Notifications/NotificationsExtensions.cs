using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SyncFunctions.Progress;

namespace SyncFunctions.Notifications;

public static class NotificationsExtensions
{
    /// <summary>
    /// The end-of-sync e-mail. The transport is chosen by which settings are present: <c>SMTP_HOST</c>
    /// (MailKit) or <c>ACS_EMAIL_ENDPOINT</c> (Azure Communication Services); neither turns e-mail off.
    /// </summary>
    public static IServiceCollection AddNotifications(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<NotificationOptions>().Bind(configuration)
            // In Azure, App Service names the app's own host; the dashboard link follows it unless set.
            .PostConfigure(o =>
            {
                if (string.IsNullOrEmpty(configuration[NotificationOptions.DashboardUrlVariable]) && configuration["WEBSITE_HOSTNAME"] is { Length: > 0 } host)
                {
                    o.DashboardUrl = $"https://{host}/";
                }
            }).ValidateOnStart();
        services.AddOptions<SmtpOptions>().Bind(configuration);
        services.AddOptions<AcsEmailOptions>().Bind(configuration);
        services.AddSingleton<IValidateOptions<NotificationOptions>, NotificationOptionsValidator>();

        services.AddSingleton<NotificationSettingsStore>();
        services.AddSingleton<NotificationClaimStore>();
        services.AddSingleton<NotificationOutcomeStore>();
        services.AddSingleton<SyncSummaryEmail>();
        services.AddSingleton<SyncNotifier>();

        // Chosen when first resolved, from the bound options: settings can arrive after registration
        // (local.settings.json, a test host), so nothing here may read configuration eagerly.
        services.AddSingleton<SmtpEmailTransport>();
        services.AddHttpClient(AcsEmailTransport.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30));
        services.TryAddSingleton<TokenCredential>(sp => new DefaultAzureCredential(new DefaultAzureCredentialOptions
        {
            // The same identity as the storage connection (a user-assigned one in Azure), unless the
            // host (or a test) registers its own credential.
            ManagedIdentityClientId = sp.GetRequiredService<IConfiguration>()["AzureWebJobsStorage:clientId"],
        }));
        services.AddSingleton(sp => new AcsEmailTransport(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(AcsEmailTransport.HttpClientName),
            sp.GetRequiredService<TokenCredential>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<AcsEmailOptions>>(),
            sp.GetRequiredService<ILogger<AcsEmailTransport>>()));
        services.AddSingleton(sp => new EmailTransportChoice(
            sp.GetRequiredService<IOptions<SmtpOptions>>().Value.IsConfigured ? sp.GetRequiredService<SmtpEmailTransport>()
            : sp.GetRequiredService<IOptions<AcsEmailOptions>>().Value.IsConfigured ? sp.GetRequiredService<AcsEmailTransport>()
            : null));

        return services;
    }
}

/// <summary>The transport configuration chose, or none (then e-mail is off).</summary>
public sealed record EmailTransportChoice(IEmailTransport? Transport);
