using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Azure.Storage.Queues;
using SyncFunctions.Orchestration;
using SyncFunctions.Storage;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Functions;

/// <summary>
/// The real app process as the Functions host starts it: with FUNCTIONS_CUSTOMHANDLER_PORT set it
/// listens on that port and leaves the queue and the timer to the host.
/// </summary>
public sealed class FunctionsHostModeTests
{
    [Fact]
    public async Task Start_WithTheCustomHandlerPort_ListensThereAndDoesNotPollTheRunQueue()
    {
        var azurite = await AzuriteServer.GetAsync();
        var prefix = SyncApp.NewPrefix();
        var port = FreePort();
        var queue = new QueueClient(azurite.ConnectionString, $"{prefix}-{SyncStorage.RunQueueName}", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync(new RunMessage(SyncApp.NewTenant(), SyncFunctions.Progress.SyncId.New(DateTimeOffset.UtcNow)).ToJson());

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SyncFunctions.dll"));
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["AzureWebJobsStorage"] = azurite.ConnectionString;
        start.Environment["SYNC_STORAGE_PREFIX"] = prefix;
        start.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment.Remove("SYNC_DISABLE_LOCAL_DRIVERS");
        start.Environment.Remove("ASPNETCORE_URLS");

        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            var live = await Eventually.MatchAsync(
                async () =>
                {
                    Assert.False(process.HasExited, $"the app exited: {Snapshot(output)}");
                    try
                    {
                        return (await http.GetAsync("/health/live")).StatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return (HttpStatusCode)0; // not listening yet
                    }
                },
                status => status == HttpStatusCode.OK,
                "the app to answer on FUNCTIONS_CUSTOMHANDLER_PORT",
                TimeSpan.FromSeconds(60));
            Assert.Equal(HttpStatusCode.OK, live);

            // The local listener polls every 0.2 to 2 s; three seconds is more than one full backoff.
            await Task.Delay(TimeSpan.FromSeconds(3));
            var messages = (await queue.PeekMessagesAsync(10)).Value;
            Assert.Equal(0, Assert.Single(messages).DequeueCount);
            Assert.Contains($"Running under the Azure Functions host (port {port})", Snapshot(output), StringComparison.Ordinal);
        }
        finally
        {
            process.Kill(); // the app itself, started above; it starts no children
            await process.WaitForExitAsync();
            await queue.DeleteIfExistsAsync();
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
