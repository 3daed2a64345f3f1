using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SyncFunctions.Tests.Infrastructure;

internal static class ProblemAssert
{
    /// <summary>A frame of a .NET stack trace ("at Namespace.Type.Method(").</summary>
    private static readonly Regex StackFrame = new(@"\bat [\w.`<>+]+\.[\w<>`]+\(", RegexOptions.None, TimeSpan.FromSeconds(1));

    /// <summary>The response is an RFC 9457 problem with this status, and gives away no stack trace.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.DoesNotMatch(StackFrame, body);
        var problem = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }
}
