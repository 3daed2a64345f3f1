using Microsoft.Azure.Functions.Worker.Builder;
using SyncFunctions;
using SyncFunctions.Configuration;

// The Function App under the Azure Functions host (isolated worker, ASP.NET Core integration). Where
// no Functions host exists, SyncFunctions.LocalHost serves these same functions on the same services.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.AddSyncFunctions();

var app = builder.Build();
app.Services.ValidateSettings();
await app.RunAsync();
