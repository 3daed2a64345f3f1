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

    /// <summary>
    /// How long stopping the hosted services may take. With storage up the Durable extension stops in
    /// about a second; with storage gone it would retry releasing its leases for ten minutes (see
    /// <see cref="BoundedJobHostService"/>). The run script, a deployment or a restart waits on this.
    /// </summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(8);

    /// <summary>
    /// How long disposing the stopped app may take. Disposing the WebJobs JobHost blocks until the
    /// Durable extension's stop is over, which it is not when that stop was abandoned at
    /// <see cref="ShutdownTimeout"/>.
    /// </summary>
    public static readonly TimeSpan DisposeTimeout = TimeSpan.FromSeconds(4);

    public static async Task<int> Main(string[] args)
    {
        try
        {
            await RunUntilShutdownAsync(Create(args)).ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is OptionsValidationException or InvalidOperationException)
        {
            // A bad or missing setting (the app's, or the Durable extension's storage connection), or a
            // function the host cannot serve: say which, without a stack trace.
            await Console.Error.WriteLineAsync($"SyncFunctions cannot start: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>
    /// Runs the app until the process is asked to stop (Ctrl-C, SIGTERM), then stops it within
    /// <see cref="ShutdownTimeout"/> and disposes it within <see cref="DisposeTimeout"/>.
    /// </summary>
    public static async Task RunUntilShutdownAsync(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            await app.StartAsync().ConfigureAwait(false);
            await app.WaitForShutdownAsync().ConfigureAwait(false); // stops the hosted services, within ShutdownTimeout
        }
        finally
        {
            await DisposeWithinTimeoutAsync(app).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Disposes the app, giving up after <see cref="DisposeTimeout"/>: the process then exits with the
    /// JobHost undisposed, as after a crash. On a thread-pool thread, since the JobHost's Dispose blocks.
    /// </summary>
    private static async Task DisposeWithinTimeoutAsync(WebApplication app)
    {
        var disposal = Task.Run(async () => await app.DisposeAsync().ConfigureAwait(false));
        try
        {
            await disposal.WaitAsync(DisposeTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await Console.Error.WriteLineAsync(
                $"SyncFunctions: disposing the host took longer than {DisposeTimeout.TotalSeconds:0} s (the Durable extension still stopping); exiting without waiting.").ConfigureAwait(false);
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
        builder.Logging.AddConfiguration(builder.Configuration.GetSection(HostJson.LoggingSection)); // host.json's log levels, as in Azure
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
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = ShutdownTimeout);
        configure?.Invoke(builder);
        DefaultSweepSchedule(builder.Configuration);
        DefaultStorage(builder.Configuration);

        var app = builder.Build();
        app.Services.ValidateSettings();
        var hub = LocalSignalRHub.MapIfNoService(app);
        app.MapHttpFunctions(catalog, skip: hub.Shadows);
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

    /// <summary>
    /// Azurite when no storage is configured at all (the app's own default too). Not a low-priority
    /// default like the others: a value under <c>AzureWebJobsStorage</c> would win over keyless
    /// <c>AzureWebJobsStorage__accountName</c> settings in the extension.
    /// </summary>
    private static void DefaultStorage(ConfigurationManager configuration)
    {
        var storage = configuration.GetSection("AzureWebJobsStorage");
        if (string.IsNullOrEmpty(storage.Value) && !storage.GetChildren().Any())
        {
            configuration["AzureWebJobsStorage"] = "UseDevelopmentStorage=true";
        }
    }

    /// <summary>The sweep's timer: <c>SYNC_SWEEP_SCHEDULE</c> when set, else every <c>SYNC_CLEANUP_INTERVAL_SECONDS</c> (300).</summary>
    private static void DefaultSweepSchedule(ConfigurationManager configuration)
    {
        if (string.IsNullOrEmpty(configuration["SYNC_SWEEP_SCHEDULE"]))
        {
            var seconds = configuration.GetValue("SYNC_CLEANUP_INTERVAL_SECONDS", 300);
            configuration["SYNC_SWEEP_SCHEDULE"] = TimeSpan.FromSeconds(seconds).ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The Function App: the assembly whose <c>[Function]</c> methods this host serves.</summary>
    public static Assembly FunctionAppAssembly => typeof(SyncFunctionsApp).Assembly;
}
