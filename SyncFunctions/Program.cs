using Microsoft.Extensions.Options;
using SyncFunctions;
using SyncFunctions.Api;
using SyncFunctions.Configuration;
using SyncFunctions.Connectors;
using SyncFunctions.Functions;
using SyncFunctions.Locking;
using SyncFunctions.Notifications;
using SyncFunctions.Orchestration;
using SyncFunctions.Realtime;
using SyncFunctions.Security;
using SyncFunctions.Storage;
using SyncFunctions.Sweep;
using SyncFunctions.Telemetry;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddSyncConfigurationSources(builder.Environment, args);
if (builder.Configuration[FunctionsHostMode.CustomHandlerPortVariable] is { Length: > 0 } port)
{
    builder.WebHost.UseUrls($"http://127.0.0.1:{port}"); // under the Functions host, which proxies to us
}

builder.AddSyncFunctions();
builder.Services
    .AddFunctions()
    .AddApi();

try
{
    var app = builder.Build();
    app.Services.ValidateSettings();
    app.UseApi();
    app.MapFunctionInvocationEndpoints();
    app.LogFunctionsHostMode();
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is OptionsValidationException || (e is InvalidOperationException && e.Source is "SyncFunctions" or "Microsoft.Extensions.Configuration.Binder"))
{
    // A bad setting: say which, without a stack trace.
    await Console.Error.WriteLineAsync($"SyncFunctions cannot start: {e.Message}");
    return 1;
}

/// <summary>The entry point, visible to the test host.</summary>
public partial class Program;
