using System.Reflection;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.LocalHost.Catalog;
using SyncFunctions.LocalHost.Durable;
using SyncFunctions.LocalHost.Http;
using SyncFunctions.LocalHost.Timers;

namespace SyncFunctions.LocalHost;

/// <summary>
/// SyncFunctions where no Functions host exists: an ASP.NET Core process that runs the real Durable
/// Functions extension on the WebJobs SDK and serves the Function App's own functions (its HTTP
/// functions on their routes, its orchestrators, entities and activities through the extension, its
/// timers on their schedules), on the app's own services and settings. It defines no function.
/// </summary>
public static class LocalFunctionsHost
{
    /// <summary>Where the host listens when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> says.</summary>
    public const string DefaultUrl = "http://localhost:5080";

    public static async Task<int> Main(string[] args)
    {
        try
        {
            await using var app = Create(args);
            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is OptionsValidationException || (e is InvalidOperationException && e.Source is "SyncFunctions" or "SyncFunctions.LocalHost" or "Microsoft.Extensions.Configuration.Binder"))
        {
            // A bad setting or a function the host cannot serve: say which, without a stack trace.
            await Console.Error.WriteLineAsync($"SyncFunctions cannot start: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <param name="args">Command-line arguments, as ASP.NET Core reads them (<c>--urls</c>, settings).</param>
    /// <param name="configure">The tests' seam: settings and services swapped before the app is built.</param>
    /// <param name="functionApp">The assembly whose functions to serve; the Function App's unless a test brings its own.</param>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null, Assembly? functionApp = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddSyncConfigurationSources(builder.Environment, args);
        builder.Configuration.AddHostJson(HostJson.DefaultPath, DefaultSettings);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        var catalog = FunctionCatalog.Load(functionApp ?? FunctionAppAssembly);
        foreach (var function in catalog.Functions)
        {
            ParameterBinding.Validate(function);
        }

        builder.Services.AddSingleton(catalog);
        builder.AddSyncFunctions();
        builder.AddDurableExtension(catalog);
        builder.Services.AddHostedService<TimerFunctions>();
        builder.Services.AddMvcCore(); // executes the IActionResults HTTP functions return, as the worker does
        configure?.Invoke(builder);

        var app = builder.Build();
        app.Services.ValidateSettings();
        app.MapHttpFunctions(catalog);
        return app;
    }

    /// <summary>
    /// Settings that host.json names and that have a default here; in Azure the app settings of the
    /// Bicep give them (the Functions host resolves host.json's <c>%NAME%</c> from app settings).
    /// </summary>
    public static IReadOnlyDictionary<string, string?> DefaultSettings { get; } = new Dictionary<string, string?>
    {
        ["SYNC_TASK_HUB"] = "SyncFunctions",
    };

    /// <summary>The Function App: the assembly whose <c>[Function]</c> methods this host serves.</summary>
    public static Assembly FunctionAppAssembly => typeof(SyncFunctionsApp).Assembly;
}
