using Microsoft.Extensions.Options;
using SyncFunctions.Notifications;

namespace SyncFunctions.Tests.Notifications;

public sealed class NotificationOptionsValidatorTests
{
    [Fact]
    public void Validate_WithNoTransport_Succeeds()
    {
        Assert.True(Validate(new SmtpOptions(), new AcsEmailOptions()).Succeeded);
    }

    [Fact]
    public void Validate_WithBothTransports_FailsNamingBothVariables()
    {
        var result = Validate(Smtp(), new AcsEmailOptions { Endpoint = "https://x.communication.azure.com", Sender = "DoNotReply@x.azurecomm.net" });

        Assert.Contains(result.Failures!, f => f.Contains("SMTP_HOST", StringComparison.Ordinal) && f.Contains("ACS_EMAIL_ENDPOINT", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, "SMTP_FROM_EMAIL")]
    [InlineData("not-an-address", "SMTP_FROM_EMAIL")]
    public void Validate_WithSmtpButNoSender_FailsNamingTheVariable(string? from, string variable)
    {
        var result = Validate(Smtp(from), new AcsEmailOptions());

        Assert.Contains(result.Failures!, f => f.StartsWith(variable, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_WithAUserButNoPassword_FailsNamingBoth()
    {
        var smtp = Smtp();
        smtp.User = "mailer";

        Assert.Contains(Validate(smtp, new AcsEmailOptions()).Failures!, f => f.Contains("SMTP_USER and SMTP_PASSWORD", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("http://x.communication.azure.com", "DoNotReply@x.azurecomm.net", "ACS_EMAIL_ENDPOINT")]
    [InlineData("not a url", "DoNotReply@x.azurecomm.net", "ACS_EMAIL_ENDPOINT")]
    [InlineData("https://x.communication.azure.com", null, "ACS_EMAIL_SENDER")]
    public void Validate_WithABadAcsSetting_FailsNamingTheVariable(string endpoint, string? sender, string variable)
    {
        var result = Validate(new SmtpOptions(), new AcsEmailOptions { Endpoint = endpoint, Sender = sender });

        Assert.Contains(result.Failures!, f => f.StartsWith(variable, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_WithABadDashboardUrl_FailsNamingTheVariable()
    {
        var result = new NotificationOptionsValidator(Options.Create(new SmtpOptions()), Options.Create(new AcsEmailOptions()))
            .Validate(null, new NotificationOptions { DashboardUrl = "dashboard" });

        Assert.Contains(result.Failures!, f => f.StartsWith("SYNC_DASHBOARD_URL", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(465, MailKit.Security.SecureSocketOptions.SslOnConnect)]
    [InlineData(587, MailKit.Security.SecureSocketOptions.StartTls)]
    [InlineData(1025, MailKit.Security.SecureSocketOptions.StartTlsWhenAvailable)]
    [InlineData(25, MailKit.Security.SecureSocketOptions.StartTlsWhenAvailable)]
    public void SecurityFor_ByPort_ChoosesTlsTheWayThatPortExpects(int port, MailKit.Security.SecureSocketOptions expected)
    {
        Assert.Equal(expected, SmtpEmailTransport.SecurityFor(port));
    }

    [Fact]
    public void Backoff_ForSuccessiveAttempts_DoublesUpToFiveMinutes()
    {
        var options = new NotificationOptions { RetrySeconds = 10 };

        Assert.Equal([10, 20, 40, 80, 160, 300, 300], Enumerable.Range(1, 7).Select(a => (int)options.Backoff(a).TotalSeconds));
    }

    private static SmtpOptions Smtp(string? from = "sync@x.example") => new() { Host = "smtp.x.example", FromEmail = from };

    private static ValidateOptionsResult Validate(SmtpOptions smtp, AcsEmailOptions acs) =>
        new NotificationOptionsValidator(Options.Create(smtp), Options.Create(acs)).Validate(null, new NotificationOptions());
}
