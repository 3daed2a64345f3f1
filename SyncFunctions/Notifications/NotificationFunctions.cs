using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using SyncFunctions.Security;

namespace SyncFunctions.Notifications;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record PutNotificationSettingsRequest(bool? Enabled, IReadOnlyList<string?>? Recipients);

/// <summary>The wire shape of a tenant's notification settings (the table row never leaves the server).</summary>
public sealed record NotificationSettingsDto(bool Enabled, IReadOnlyList<string> Recipients, DateTimeOffset? UpdatedAt, bool TransportConfigured);

/// <summary>/api/v1/notifications: whether the tenant's sync summaries are e-mailed, and to whom besides the trigger.</summary>
public sealed class NotificationFunctions(NotificationSettingsStore store, SyncNotifier notifier)
{
    [Function("GetNotificationSettings")]
    public Task<IActionResult> GetFunctionAsync([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/notifications")] HttpRequest request) =>
        Api.ApiFunction.ForCallerAsync(request, async caller => await GetAsync(caller, store, notifier, request.HttpContext.RequestAborted).ConfigureAwait(false));

    [Function("PutNotificationSettings")]
    public Task<IActionResult> PutFunctionAsync([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/v1/notifications")] HttpRequest request) =>
        Api.ApiFunction.ForCallerAsync(request, async caller =>
        {
            var (body, problem) = await Api.ApiFunction.ReadJsonAsync<PutNotificationSettingsRequest>(request).ConfigureAwait(false);
            return problem ?? (await PutAsync(body, caller, store, notifier, request.HttpContext.RequestAborted).ConfigureAwait(false)).Result;
        });

    private static NotificationSettingsDto ToDto(NotificationSettings s, SyncNotifier notifier) => new(s.Enabled, s.Recipients, s.UpdatedAt, notifier.Enabled);

    private static async Task<Ok<NotificationSettingsDto>> GetAsync(Caller caller, NotificationSettingsStore store, SyncNotifier notifier, CancellationToken cancellationToken) =>
        TypedResults.Ok(ToDto(await store.GetAsync(caller.TenantId, cancellationToken).ConfigureAwait(false), notifier));

    private static async Task<Results<Ok<NotificationSettingsDto>, ValidationProblem>> PutAsync(
        PutNotificationSettingsRequest? request, Caller caller, NotificationSettingsStore store, SyncNotifier notifier, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (request?.Enabled is null)
        {
            errors["enabled"] = ["'enabled' is required: true to e-mail sync summaries, false to send none."];
        }

        if (request?.Recipients is null)
        {
            errors["recipients"] = ["'recipients' is required: a list (possibly empty) of e-mail addresses that get every summary besides the trigger."];
        }
        else if (request.Recipients.Count > NotificationSettings.MaxRecipients)
        {
            errors["recipients"] = [$"At most {NotificationSettings.MaxRecipients} recipients."];
        }
        else
        {
            for (var i = 0; i < request.Recipients.Count; i++)
            {
                if (!EmailAddresses.IsValid(request.Recipients[i]?.Trim()))
                {
                    errors[$"recipients[{i}]"] = [$"Not an e-mail address: one address (name@example.com) of at most {EmailAddresses.MaxLength} characters, no display name."];
                }
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        // Trimmed and each address once, in the order given: the list is what the tenant sees on GET.
        var recipients = request!.Recipients!.Select(r => r!.Trim()).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var saved = await store.PutAsync(caller.TenantId, request.Enabled!.Value, recipients, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(ToDto(saved, notifier));
    }
}
