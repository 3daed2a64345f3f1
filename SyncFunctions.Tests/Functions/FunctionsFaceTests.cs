using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Routing.Template;
using SyncFunctions.Functions;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Functions;

/// <summary>
/// What the Functions host reads: host.json and the function folders at the root of the build output,
/// and the routes of the HTTP functions, matched the way the host's ASP.NET Core routing matches them.
/// </summary>
public sealed class FunctionsFaceTests(SharedSyncApp fixture) : IClassFixture<SharedSyncApp>
{
    private static readonly string OutputRoot = AppContext.BaseDirectory;

    private static readonly string[] NonHttpFunctions = ["SyncRun", "StaleSyncSweep"];

    private static List<(string Name, JsonElement Trigger)> Functions() =>
        Directory.GetDirectories(OutputRoot)
            .Where(d => File.Exists(Path.Combine(d, "function.json")))
            .Select(d =>
            {
                using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(d, "function.json")));
                var trigger = json.RootElement.GetProperty("bindings").EnumerateArray()
                    .Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));
                return (Path.GetFileName(d), trigger.Clone());
            })
            .ToList();

    private static List<HttpFunctionRoute> HttpRoutes() =>
        Functions().Where(f => f.Trigger.GetProperty("type").GetString() == "httpTrigger")
            .Select(f => new HttpFunctionRoute(
                f.Name,
                f.Trigger.GetProperty("route").GetString()!,
                f.Trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToHashSet()))
            .ToList();

    private static bool Covered(string method, string path) => HttpRoutes().Any(r => r.Methods.Contains(method) && r.Matches(path));

    [Fact]
    public void BuildOutput_Root_HoldsHostJsonAndEveryFunctionFolder()
    {
        var hostJson = Path.Combine(OutputRoot, "host.json");
        Assert.True(File.Exists(hostJson), $"host.json is missing from {OutputRoot}");
        Assert.Equal(File.ReadAllText(Path.Combine(RepoRoot.Find(), "host.json")), File.ReadAllText(hostJson));
        Assert.True(File.Exists(Path.Combine(OutputRoot, "SyncFunctions.dll")));
        var names = Functions().Select(f => f.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["HttpApi", "HttpDashboard", "HttpDashboardFiles", "HttpDashboardFolders", "HttpHealth", "StaleSyncSweep", "SyncRun"], names);
    }

    [Fact]
    public void HostJson_DescribesTheCustomHandlerQueuesAndTimeout()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot.Find(), "host.json")));
        var host = json.RootElement;
        Assert.Equal("2.0", host.GetProperty("version").GetString());

        var handler = host.GetProperty("customHandler");
        Assert.Equal("dotnet", handler.GetProperty("description").GetProperty("defaultExecutablePath").GetString());
        Assert.Equal(["SyncFunctions.dll"], handler.GetProperty("description").GetProperty("arguments").EnumerateArray().Select(a => a.GetString()));
        Assert.True(handler.GetProperty("enableProxyingHttpRequest").GetBoolean());

        Assert.Equal("", host.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        var bundle = host.GetProperty("extensionBundle");
        Assert.Equal("Microsoft.Azure.Functions.ExtensionBundle", bundle.GetProperty("id").GetString());
        Assert.Equal("[4.*, 5.0.0)", bundle.GetProperty("version").GetString());

        // Above the longest sync the engine allows (SYNC_MAX_TIMEOUT_SECONDS, 7200 s by default).
        var timeout = TimeSpan.Parse(host.GetProperty("functionTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(timeout > TimeSpan.FromSeconds(new SyncFunctions.Configuration.SyncOptions().MaxTimeoutSeconds), $"functionTimeout {timeout}");

        var queues = host.GetProperty("extensions").GetProperty("queues");
        Assert.Equal(new SyncFunctions.Configuration.SyncOptions().MaxDequeueCount, queues.GetProperty("maxDequeueCount").GetInt32());
        Assert.True(TimeSpan.Parse(queues.GetProperty("maxPollingInterval").GetString()!, System.Globalization.CultureInfo.InvariantCulture) <= TimeSpan.FromSeconds(2));
        var concurrentRuns = queues.GetProperty("batchSize").GetInt32() + queues.GetProperty("newBatchThreshold").GetInt32();
        Assert.Equal(new SyncFunctions.Configuration.SyncOptions().WorkerConcurrency, concurrentRuns);
        Assert.True(TimeSpan.Parse(queues.GetProperty("visibilityTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > TimeSpan.Zero);
        Assert.Equal("base64", queues.GetProperty("messageEncoding").GetString());

        var levels = host.GetProperty("logging").GetProperty("logLevel");
        Assert.Equal("Information", levels.GetProperty("Function").GetString());
        Assert.Equal("Information", levels.GetProperty("Host.Results").GetString());
    }

    [Fact]
    public void SyncRun_FunctionJson_IsAQueueTriggerOnTheRunQueueWithTheHostsConnection()
    {
        var trigger = Functions().Single(f => f.Name == "SyncRun").Trigger;
        Assert.Equal("queueTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal(SyncFunctions.Storage.SyncStorage.RunQueueName, trigger.GetProperty("queueName").GetString());
        Assert.Equal("AzureWebJobsStorage", trigger.GetProperty("connection").GetString());
        Assert.Equal(FunctionInvocationEndpoints.RunMessageBindingName, trigger.GetProperty("name").GetString());
    }

    [Fact]
    public void StaleSyncSweep_FunctionJson_IsATimerOnTheScheduleSettingThatTheSampleSettingsDefine()
    {
        var trigger = Functions().Single(f => f.Name == "StaleSyncSweep").Trigger;
        Assert.Equal("timerTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal("%SYNC_SWEEP_SCHEDULE%", trigger.GetProperty("schedule").GetString());
        Assert.True(trigger.GetProperty("useMonitor").GetBoolean());

        // The host will not start a function whose %setting% is missing, so the sample must carry it.
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot.Find(), "local.settings.sample.json")));
        Assert.Equal("0 */5 * * * *", sample.RootElement.GetProperty("Values").GetProperty("SYNC_SWEEP_SCHEDULE").GetString());
    }

    [Fact]
    public void QueueAndTimerFunctions_EachHaveAnInvocationEndpointOnTheServer()
    {
        var endpoints = ServerRoutes();
        foreach (var name in Functions().Select(f => f.Name).Where(n => NonHttpFunctions.Contains(n)))
        {
            Assert.Contains(endpoints, e => e.Path == "/" + name && e.Methods.Contains(HttpMethods.Post));
        }

        Assert.Equal(NonHttpFunctions.Order(StringComparer.Ordinal),
            Functions().Where(f => f.Trigger.GetProperty("type").GetString() != "httpTrigger").Select(f => f.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void HttpFunctions_CoverEveryApiAndHealthRouteTheServerServes()
    {
        var served = ServerRoutes().Where(e => e.Path.StartsWith("/api/", StringComparison.Ordinal) || e.Path.StartsWith("/health/", StringComparison.Ordinal)).ToList();
        Assert.Contains(served, e => e.Path == "/api/v1/sync");
        foreach (var (path, methods) in served)
        {
            var sample = path.Replace("{syncId}", "01JABCDEFGHJKMNPQRSTVWXYZ0", StringComparison.Ordinal).Replace("{connector}", "demo", StringComparison.Ordinal);
            foreach (var method in methods)
            {
                Assert.True(Covered(method, sample), $"no HTTP function covers {method} {sample}");
            }
        }
    }

    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/index.html")]
    [InlineData("GET", "/app.js")]
    [InlineData("GET", "/app.css")]
    [InlineData("HEAD", "/favicon.ico")]
    [InlineData("GET", "/lib/signalr/signalr.min.js")]
    [InlineData("GET", "/assets/fonts/a.woff2")]
    [InlineData("POST", "/api/negotiate")]
    [InlineData("GET", "/api")]
    [InlineData("GET", "/health/live")]
    [InlineData("GET", "/health/ready")]
    [InlineData("POST", "/api/v1/sync")]
    [InlineData("OPTIONS", "/api/v1/sync")]
    [InlineData("GET", "/api/sync-progress/01JABCDEFGHJKMNPQRSTVWXYZ0/stream")]
    public void HttpFunctions_CoverThePublicSurface(string method, string path) =>
        Assert.True(Covered(method, path), $"no HTTP function covers {method} {path}");

    [Theory]
    [InlineData("/SyncRun")]
    [InlineData("/syncrun")]
    [InlineData("/StaleSyncSweep")]
    [InlineData("/STALESYNCSWEEP")]
    [InlineData("/SyncRun/")]
    [InlineData("/SyncRun/x")]
    public void HttpFunctions_NeverCoverAnInvocationPath(string path)
    {
        foreach (var method in new[] { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS" })
        {
            Assert.False(Covered(method, path), $"{method} {path} would be proxied to the server by an HTTP function");
        }
    }

    private List<(string Path, IReadOnlyList<string> Methods)> ServerRoutes() =>
        fixture.App.Get<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => ("/" + e.RoutePattern.RawText!.Trim('/'), e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []))
            .ToList();

    /// <summary>An HTTP function's route, matched like the host matches it: ASP.NET Core templates, constraints included.</summary>
    private sealed class HttpFunctionRoute
    {
        private static readonly IInlineConstraintResolver Constraints =
            new ServiceCollection().AddRouting().BuildServiceProvider().GetRequiredService<IInlineConstraintResolver>();

        private readonly TemplateMatcher _matcher;
        private readonly RoutePattern _pattern;

        public HttpFunctionRoute(string name, string route, IReadOnlySet<string> methods)
        {
            Name = name;
            Methods = methods;
            _pattern = RoutePatternFactory.Parse(route);
            _matcher = new TemplateMatcher(TemplateParser.Parse(route), new RouteValueDictionary());
        }

        public string Name { get; }

        public IReadOnlySet<string> Methods { get; }

        public bool Matches(string path)
        {
            var values = new RouteValueDictionary();
            if (!_matcher.TryMatch(path, values))
            {
                return false;
            }

            foreach (var parameter in _pattern.Parameters)
            {
                if (!values.TryGetValue(parameter.Name, out var value) || value is null)
                {
                    continue; // an optional parameter left out is not constrained
                }

                foreach (var policy in parameter.ParameterPolicies.Where(p => p.Content is not null))
                {
                    var constraint = Constraints.ResolveConstraint(policy.Content!)!;
                    if (!constraint.Match(null, null, parameter.Name, values, RouteDirection.IncomingRequest))
                    {
                        return false;
                    }
                }
            }

            return true;
        }
    }
}
