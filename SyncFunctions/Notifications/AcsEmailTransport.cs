using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure.Core;
using Microsoft.Extensions.Options;

namespace SyncFunctions.Notifications;

/// <summary>
/// The Azure Communication Services e-mail REST API (2023-03-31) with an Entra token: POST
/// <c>/emails:send</c>, 202 with an <c>Operation-Location</c>, then GET that URL, honouring
/// <c>Retry-After</c>, until the send is Succeeded or Failed. A 429 or 5xx before acceptance may be
/// retried; once accepted, a send is never posted again (ACS retries delivery itself), so an outcome
/// that cannot be learnt within ACS_EMAIL_POLL_TIMEOUT_SECONDS is reported, not resent.
/// </summary>
public sealed partial class AcsEmailTransport(
    HttpClient http,
    TokenCredential credential,
    TimeProvider time,
    IOptions<AcsEmailOptions> options,
    ILogger<AcsEmailTransport> logger) : IEmailTransport
{
    public const string HttpClientName = "acs-email";
    public const string ApiVersion = "2023-03-31";
    public const string Scope = "https://communication.azure.com/.default";
    private static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromSeconds(30);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private AcsEmailOptions Options => options.Value;

    public string Description => $"Azure Communication Services ({Options.EndpointUri.Host})";

    /// <summary>The send URL. "./" keeps "emails:" from reading as a URI scheme.</summary>
    public Uri SendUri => new(Options.EndpointUri, $"./emails:send?api-version={ApiVersion}");

    public async Task<string?> SendAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        var body = new SendRequest(
            Options.Sender!,
            new SendRecipients(message.To.Select(a => new SendAddress(a, null)).ToList()),
            new SendContent(message.Subject, message.PlainText, message.Html));
        using var request = new HttpRequestMessage(HttpMethod.Post, SendUri)
        {
            Content = JsonContent.Create(body, options: Json),
        };
        await AuthorizeAsync(request, cancellationToken).ConfigureAwait(false);

        Uri operationUrl;
        TimeSpan? firstWait;
        using (var response = await SendHttpAsync(request, "send", cancellationToken).ConfigureAwait(false))
        {
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                throw await RefusedAsync(response, "send", cancellationToken).ConfigureAwait(false);
            }

            var location = response.Headers.TryGetValues("Operation-Location", out var values) ? values.FirstOrDefault() : null;
            if (location is null || !Uri.TryCreate(location, UriKind.Absolute, out operationUrl!))
            {
                throw new EmailSendException("ACS accepted the send without an Operation-Location to follow; its outcome is unknown.", transient: false);
            }

            var accepted = await ReadResultAsync(response, cancellationToken).ConfigureAwait(false);
            if (accepted?.Status is "Succeeded")
            {
                return accepted.Id;
            }

            firstWait = RetryAfter(response);
        }

        return await PollAsync(operationUrl, firstWait, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string?> PollAsync(Uri operationUrl, TimeSpan? firstWait, CancellationToken cancellationToken)
    {
        var giveUpAt = time.GetUtcNow() + TimeSpan.FromSeconds(Options.PollTimeoutSeconds);
        string? lastProblem = null;
        await Task.Delay(PollDelay(firstWait), time, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            TimeSpan? wait = null;
            try
            {
                using var poll = new HttpRequestMessage(HttpMethod.Get, operationUrl);
                await AuthorizeAsync(poll, cancellationToken).ConfigureAwait(false);
                using var response = await SendHttpAsync(poll, "status", cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var result = await ReadResultAsync(response, cancellationToken).ConfigureAwait(false);
                    switch (result?.Status)
                    {
                        case "Succeeded":
                            return result.Id;
                        case "Failed" or "Canceled":
                            var error = result.Error is { } e ? $"{e.Code}: {e.Message}" : "no error given";
                            throw new EmailSendException($"ACS could not send the e-mail ({result.Status}, {error}).", transient: false);
                    }

                    wait = RetryAfter(response);
                }
                else
                {
                    var refused = await RefusedAsync(response, "status", cancellationToken).ConfigureAwait(false);
                    if (!refused.Transient)
                    {
                        throw new EmailSendException($"ACS accepted the e-mail but its status cannot be read ({refused.Message}); not sent again.", transient: false, null, refused);
                    }

                    lastProblem = refused.Message;
                    wait = refused.RetryAfter;
                }
            }
            catch (EmailSendException e) when (e.Transient)
            {
                lastProblem = e.Message; // a failed status read is no reason to send again: keep following
                wait = e.RetryAfter;
            }

            var delay = PollDelay(wait);
            if (time.GetUtcNow() + delay > giveUpAt)
            {
                throw new EmailSendException(
                    $"ACS accepted the e-mail but did not report it sent within {Options.PollTimeoutSeconds} s{(lastProblem is null ? "" : $" (last: {lastProblem})")}; not sent again.",
                    transient: false);
            }

            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The service's Retry-After, within reason; a second when it gives none.</summary>
    private static TimeSpan PollDelay(TimeSpan? retryAfter) =>
        retryAfter is { } w && w > TimeSpan.Zero ? (w < MaxPollInterval ? w : MaxPollInterval) : DefaultPollInterval;

    private async Task AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        AccessToken token;
        try
        {
            token = await credential.GetTokenAsync(new TokenRequestContext([Scope]), cancellationToken).ConfigureAwait(false);
        }
        catch (Azure.Identity.AuthenticationFailedException e)
        {
            throw new EmailSendException($"No Entra token for Azure Communication Services: {e.Message}", transient: true, null, e);
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
    }

    private async Task<HttpResponseMessage> SendHttpAsync(HttpRequestMessage request, string step, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogCallFailed(logger, step, e.Message);
            throw new EmailSendException($"Could not reach Azure Communication Services ({step}): {e.Message}", transient: true, null, e);
        }
    }

    private async Task<EmailSendException> RefusedAsync(HttpResponseMessage response, string step, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var detail = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        string? message = null;
        try
        {
            message = JsonSerializer.Deserialize<ErrorResponse>(detail, Json)?.Error?.Message;
        }
        catch (JsonException)
        {
            // Not the documented error shape (a proxy's page, say): the status code says enough.
        }

        var transient = status is 408 or 429 or >= 500;
        return new EmailSendException($"Azure Communication Services answered {status} to the {step}{(message is null ? "" : $": {message}")}", transient, RetryAfter(response));
    }

    private static async Task<SendResult?> ReadResultAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<SendResult>(Json, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return null; // a 202 without a body is still an acceptance; the status URL tells the rest
        }
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter is { } header
            ? header.Delta ?? (header.Date is { } date ? date - time.GetUtcNow() : null)
            : null;

    private sealed record SendRequest(string SenderAddress, SendRecipients Recipients, SendContent Content);

    private sealed record SendRecipients(IReadOnlyList<SendAddress> To);

    private sealed record SendAddress(string Address, string? DisplayName);

    private sealed record SendContent(string Subject, string PlainText, string Html);

    private sealed record SendResult(string? Id, string? Status, ErrorDetail? Error);

    private sealed record ErrorResponse(ErrorDetail? Error);

    private sealed record ErrorDetail(string? Code, string? Message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Azure Communication Services e-mail {Step} call failed: {Error}")]
    private static partial void LogCallFailed(ILogger logger, string step, string error);
}
