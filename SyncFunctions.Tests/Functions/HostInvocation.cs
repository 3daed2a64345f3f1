using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Queues.Models;

namespace SyncFunctions.Tests.Functions;

/// <summary>
/// Invocation payloads shaped like the Functions host's, built from a real message received off the
/// real queue. The host JSON-encodes string values once more (the message arrives as <c>"\"{...}\""</c>,
/// the id as <c>"\"...\""</c>, the dequeue count as <c>"1"</c>); <paramref name="quoted"/> false sends
/// the other shape the host may use: the message as a JSON object, numbers as numbers.
/// </summary>
internal static class HostInvocation
{
    public static JsonObject Queue(QueueMessage message, bool quoted = true, string? id = null, long? dequeueCount = null) =>
        Queue(message.MessageText, id ?? message.MessageId, message.PopReceipt, dequeueCount ?? message.DequeueCount, quoted, message.InsertedOn, message.ExpiresOn, message.NextVisibleOn);

    public static JsonObject Queue(
        string text, string id, string popReceipt, long dequeueCount, bool quoted = true,
        DateTimeOffset? inserted = null, DateTimeOffset? expires = null, DateTimeOffset? nextVisible = null)
    {
        static string Quote(string s) => JsonSerializer.Serialize(s);
        var insertedOn = inserted ?? DateTimeOffset.UtcNow;
        return new JsonObject
        {
            ["Data"] = new JsonObject
            {
                ["message"] = quoted ? Quote(text) : JsonNode.Parse(text),
            },
            ["Metadata"] = new JsonObject
            {
                ["DequeueCount"] = quoted ? dequeueCount.ToString(CultureInfo.InvariantCulture) : dequeueCount,
                ["ExpirationTime"] = (expires ?? insertedOn.AddDays(7)).ToString("O", CultureInfo.InvariantCulture),
                ["Id"] = quoted ? Quote(id) : id,
                ["InsertionTime"] = insertedOn.ToString("O", CultureInfo.InvariantCulture),
                ["NextVisibleTime"] = (nextVisible ?? DateTimeOffset.UtcNow.AddMinutes(10)).ToString("O", CultureInfo.InvariantCulture),
                ["PopReceipt"] = quoted ? Quote(popReceipt) : popReceipt,
                ["sys"] = Sys("SyncRun"),
            },
        };
    }

    public static JsonObject Timer() => new()
    {
        ["Data"] = new JsonObject
        {
            ["timer"] = new JsonObject
            {
                ["Schedule"] = new JsonObject { ["AdjustForDST"] = true },
                ["ScheduleStatus"] = new JsonObject
                {
                    ["Last"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O", CultureInfo.InvariantCulture),
                    ["Next"] = DateTimeOffset.UtcNow.AddMinutes(5).ToString("O", CultureInfo.InvariantCulture),
                    ["LastUpdated"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                },
                ["IsPastDue"] = false,
            },
        },
        ["Metadata"] = new JsonObject { ["sys"] = Sys("StaleSyncSweep") },
    };

    /// <summary>Posts as the host does: straight to the server on loopback, with its invocation headers.</summary>
    public static Task<HttpResponseMessage> PostAsync(HttpClient client, string function, JsonObject payload, IReadOnlyDictionary<string, string>? headers = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/" + function) { Content = JsonContent.Create(payload) };
        request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
        request.Headers.Add("X-Azure-Functions-HostVersion", "4.1040.300.0");
        request.Headers.UserAgent.ParseAdd("Azure-Functions-Custom-Handler/4.1040.300.0");
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return client.SendAsync(request);
    }

    private static JsonObject Sys(string method) => new()
    {
        ["MethodName"] = method,
        ["UtcNow"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        ["RandGuid"] = Guid.NewGuid().ToString(),
    };
}
