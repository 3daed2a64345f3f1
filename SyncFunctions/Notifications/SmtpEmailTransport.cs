using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace SyncFunctions.Notifications;

/// <summary>
/// SMTP through MailKit, one connection per message (a sync summary is rare; a pooled connection
/// would only go stale). TLS by port: 465 is TLS from the first byte, 587 must upgrade with STARTTLS,
/// any other port (MailDev's 1025, a relay on 25) upgrades when the server offers it.
/// </summary>
public sealed class SmtpEmailTransport(IOptions<SmtpOptions> options) : IEmailTransport
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private SmtpOptions Options => options.Value;

    public string Description => $"SMTP ({Options.Host}:{Options.Port})";

    public static SecureSocketOptions SecurityFor(int port) => port switch
    {
        465 => SecureSocketOptions.SslOnConnect,
        587 => SecureSocketOptions.StartTls,
        _ => SecureSocketOptions.StartTlsWhenAvailable,
    };

    public async Task<string?> SendAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        using var mime = ToMime(message);
        using var client = new SmtpClient { Timeout = (int)Timeout.TotalMilliseconds };
        try
        {
            await client.ConnectAsync(Options.Host!, Options.Port, SecurityFor(Options.Port), cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(Options.User))
            {
                await client.AuthenticateAsync(Options.User, Options.Password ?? "", cancellationToken).ConfigureAwait(false);
            }

            await client.SendAsync(mime, cancellationToken).ConfigureAwait(false);
            await client.DisconnectAsync(quit: true, cancellationToken).ConfigureAwait(false);
            return mime.MessageId;
        }
        catch (SmtpCommandException e)
        {
            // 4xx replies are the server asking to come back later; 5xx ones will not change on a retry.
            var transient = (int)e.StatusCode is >= 400 and < 500;
            throw new EmailSendException($"The SMTP server refused the message ({(int)e.StatusCode} {e.ErrorCode}): {e.Message}", transient, null, e);
        }
        catch (AuthenticationException e)
        {
            throw new EmailSendException($"The SMTP server refused SMTP_USER's credentials: {e.Message}", transient: false, null, e);
        }
        catch (Exception e) when (e is SocketException or IOException or SmtpProtocolException or ServiceNotConnectedException or TimeoutException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new EmailSendException($"Could not talk to the SMTP server {Options.Host}:{Options.Port}: {e.Message}", transient: true, null, e);
        }
    }

    private MimeMessage ToMime(EmailMessage message)
    {
        var mime = new MimeMessage
        {
            // Stable per sync: a mail sent twice after a crash shares one Message-ID, which mail clients fold into one.
            MessageId = message.MessageId,
            Subject = message.Subject,
        };
        mime.From.Add(new MailboxAddress(Options.FromName, Options.FromEmail!));
        foreach (var to in message.To)
        {
            mime.To.Add(MailboxAddress.Parse(to));
        }

        mime.Body = new BodyBuilder { TextBody = message.PlainText, HtmlBody = message.Html }.ToMessageBody();
        return mime;
    }
}
