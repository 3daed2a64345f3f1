namespace SyncFunctions.Notifications;

/// <summary>One e-mail, ready to hand to a transport: both parts, every recipient in To.</summary>
public sealed record EmailMessage(IReadOnlyList<string> To, string Subject, string PlainText, string Html, string MessageId);

/// <summary>How an e-mail leaves the service: SMTP (MailKit) or the Azure Communication Services REST API, chosen by configuration.</summary>
public interface IEmailTransport
{
    /// <summary>For logs and the start-up line, never a secret.</summary>
    string Description { get; }

    /// <summary>Sends or throws <see cref="EmailSendException"/>; returns the provider's id of the message when it has one.</summary>
    Task<string?> SendAsync(EmailMessage message, CancellationToken cancellationToken);
}

/// <summary>
/// A send that did not succeed. <see cref="Transient"/> says whether trying again may help (a dropped
/// connection, a 4xx SMTP reply, a 429 or 5xx) or not (a refused recipient, bad credentials, an ACS
/// send that ended Failed, or an accepted send whose outcome is unknown, which must not be repeated).
/// </summary>
public sealed class EmailSendException : Exception
{
    public EmailSendException()
    {
    }

    public EmailSendException(string message)
        : base(message)
    {
    }

    public EmailSendException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public EmailSendException(string message, bool transient, TimeSpan? retryAfter = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Transient = transient;
        RetryAfter = retryAfter;
    }

    public bool Transient { get; }

    /// <summary>The provider's own Retry-After, the least to wait before the next attempt.</summary>
    public TimeSpan? RetryAfter { get; }
}
