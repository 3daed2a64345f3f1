using System.Net;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Api;

/// <summary>
/// The served OpenAPI document against the running local host: every operation of it is walked with a
/// valid request, invalid ones and an unauthenticated one, all built from its schemas, and every answer
/// must be a status, media type and body the document lists for that operation.
/// </summary>
public sealed class OpenApiConformanceTests(SharedSyncApp fixture) : IClassFixture<SharedSyncApp>
{
    private SyncApp App => fixture.App;

    /// <summary>The operations of the document as built into the app (the served one is checked to be the same).</summary>
    public static TheoryData<string> OperationIds()
    {
        using var stream = typeof(SyncFunctions.Api.OpenApiFunction).Assembly.GetManifestResourceStream("SyncFunctions.Api.openapi.json")!;
        using var reader = new StreamReader(stream);
        var data = new TheoryData<string>();
        foreach (var (_, _, operation) in Operations(Parse(reader.ReadToEnd())))
        {
            data.Add(operation.OperationId!);
        }

        return data;
    }

    [Fact]
    public async Task ServedDocument_ReadsWithoutErrorsAndIsTheOneTheWalkCovers()
    {
        var document = Parse(await ServedAsync());

        var walked = ((IEnumerable<object[]>)OperationIds()).Select(row => (string)row[0]).Order(StringComparer.Ordinal);
        Assert.Equal(walked, Operations(document).Select(o => o.Operation.OperationId!).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(OperationIds))]
    public async Task Operation_AnswersValidInvalidAndUnauthenticatedRequests_OnlyAsTheDocumentSays(string operationId)
    {
        var text = await ServedAsync();
        var (path, method, operation) = Operations(Parse(text)).Single(o => o.Operation.OperationId == operationId);
        var schemas = new DocumentSchemas(text);
        var ids = new Dictionary<string, string>(StringComparer.Ordinal) { ["connector"] = "demo" };
        string? token = null;
        if (operation.Security is { Count: > 0 })
        {
            // A tenant of this test's own with a real sync: ended, or, for the cancel, running.
            var tenant = SyncApp.NewTenant("conformance");
            token = await App.TokenForAsync(tenant);
            using var client = await App.ClientForAsync(tenant);
            var running = operationId == "CancelSync";
            await client.PutConnectionAsync("demo", running ? new { items = 1000, item_delay_ms = 1000 } : new { items = 1, item_delay_ms = 0 });
            ids["syncId"] = await client.TriggerAsync();
            if (!running)
            {
                await client.WaitForEndAsync(ids["syncId"]);
            }
        }

        var documented = operation.Responses!.Keys.ToList();
        var failures = new List<string>();
        using var http = App.CreateClient();
        // Invalid and unauthenticated first: the valid request may change what they would find (a deleted connection).
        foreach (var request in OpenApiWalk.Requests(path, method, operation, ids).OrderBy(r => r.Expect == WalkExpectation.Success))
        {
            using var message = request.ToMessage(token);
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
            failures.AddRange(await ResponseConformance.CheckAsync(request, response, path, documented, schemas));
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>The validator the walk relies on rejects what a schema excludes, type arrays of OpenAPI 3.1 included.</summary>
    [Fact]
    public async Task SchemaValidator_RejectsWhatTheDocumentsSchemasExclude()
    {
        var schemas = new DocumentSchemas(await ServedAsync());

        const string Valid = "{\"items\": [], \"next_page_token\": null}";
        Assert.Empty(await schemas.ValidateAgainstComponentAsync("SyncHistoryResponse", Valid));
        Assert.Empty(await schemas.ValidateAgainstComponentAsync("SyncHistoryResponse", "{\"items\": [], \"next_page_token\": \"abc\"}"));
        // ["null", "string"]: neither a number nor an object.
        Assert.NotEmpty(await schemas.ValidateAgainstComponentAsync("SyncHistoryResponse", "{\"items\": [], \"next_page_token\": 5}"));
        Assert.NotEmpty(await schemas.ValidateAgainstComponentAsync("SyncHistoryResponse", "{\"items\": [], \"next_page_token\": {}}"));
        // A required property missing, and an array of the wrong items (through a reference).
        Assert.NotEmpty(await schemas.ValidateAgainstComponentAsync("SyncHistoryResponse", "{\"items\": []}"));
        Assert.NotEmpty(await schemas.ValidateAgainstComponentAsync("SyncHistoryResponse", "{\"items\": [{\"id\": 1}], \"next_page_token\": null}"));
        // ["null", "array"] of a request: null and an array pass, a string does not.
        Assert.Empty(await schemas.ValidateAgainstComponentAsync("TriggerSyncRequest", "{\"connectors\": null}"));
        Assert.NotEmpty(await schemas.ValidateAgainstComponentAsync("TriggerSyncRequest", "{\"connectors\": \"demo\"}"));
        Assert.NotEmpty(await schemas.ValidateAgainstComponentAsync("TriggerSyncRequest", "{\"connectors\": [\"demo\"], \"extra\": 1}"));
    }

    [Fact]
    public async Task DocumentExamples_ValidateAgainstTheirOwnSchemas()
    {
        var text = await ServedAsync();
        var schemas = new DocumentSchemas(text);
        var components = System.Text.Json.Nodes.JsonNode.Parse(text)!["components"]!["schemas"]!.AsObject();

        var withExamples = components.Where(c => c.Value?["examples"] is not null).ToList();
        Assert.NotEmpty(withExamples);
        foreach (var (name, schema) in withExamples)
        {
            foreach (var example in schema!["examples"]!.AsArray())
            {
                Assert.Empty(await schemas.ValidateAgainstComponentAsync(name, example!.ToJsonString()));
            }
        }
    }

    private async Task<string> ServedAsync()
    {
        using var client = App.CreateClient();
        var response = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static OpenApiDocument Parse(string json)
    {
        var (document, diagnostic) = OpenApiDocument.Parse(json, "json");
        Assert.True(diagnostic is null || diagnostic.Errors.Count == 0, string.Join("\n", diagnostic?.Errors.Select(e => e.ToString()) ?? []));
        return document!;
    }

    private static IEnumerable<(string Path, string Method, OpenApiOperation Operation)> Operations(OpenApiDocument document) =>
        document.Paths.SelectMany(path => (path.Value.Operations ?? []).Select(o => (path.Key, o.Key.ToString().ToUpperInvariant(), o.Value)));
}
