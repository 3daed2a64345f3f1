using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace SyncFunctions.Tests.Infrastructure;

/// <summary>
/// SyncFunctions.LocalHost as a real process (<c>dotnet SyncFunctions.LocalHost.dll --urls …</c>, the
/// build output the tests reference), so a test can kill -9 it: no shutdown, no finally block runs.
/// Two processes given the same prefix share the storage and the task hub, as two instances do.
/// </summary>
public sealed class LocalHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output;

    private LocalHostProcess(Process process, int port, string prefix, System.Collections.Concurrent.ConcurrentQueue<string> output)
    {
        _process = process;
        _output = output;
        Prefix = prefix;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
    }

    public Uri BaseAddress { get; }

    public string Prefix { get; }

    /// <summary>What the process wrote to its console (standard output and error), line by line.</summary>
    public IReadOnlyList<string> Output => [.. _output];

    /// <param name="storage">The Azurite to use; the shared one unless a test brings its own (to stop it).</param>
    public static async Task<LocalHostProcess> StartAsync(IReadOnlyDictionary<string, string> settings, string? prefix = null, AzuriteServer? storage = null)
    {
        var azurite = storage ?? await AzuriteServer.GetAsync();
        prefix ??= SyncApp.NewPrefix();
        var port = ChildProcesses.FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SyncFunctions.LocalHost.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["AzureWebJobsStorage"] = azurite.ConnectionString;
        start.Environment["SYNC_STORAGE_PREFIX"] = prefix;
        start.Environment["SYNC_TASK_HUB"] = prefix + "hub";
        start.Environment["AUTH_DEV_SIGNING_KEY"] = SyncApp.SigningKey;
        start.Environment["SYNC_DEMO_TENANT"] = "";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("The local host did not start.");
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => Keep(output, e.Data);
        process.ErrorDataReceived += (_, e) => Keep(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        ChildProcesses.Track(process);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await ChildProcesses.WaitForPortAsync("SyncFunctions.LocalHost", port, process, deadline.Token);
        return new LocalHostProcess(process, port, prefix, output);
    }

    private static void Keep(System.Collections.Concurrent.ConcurrentQueue<string> output, string? line)
    {
        if (line is not null && output.Count < 100_000)
        {
            output.Enqueue(line);
        }
    }

    public async Task<HttpClient> ClientForAsync(string tenantId)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        var response = await client.PostAsJsonAsync("/api/dev/token", new { tenant_id = tenantId, email = $"user@{tenantId}.example" });
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("access_token").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>kill -TERM: a graceful shutdown, as scripts/run.sh's Ctrl-C, a service manager or a deployment asks for it.</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })
            ?? throw new InvalidOperationException("kill did not start.");
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Waits for the process to exit, up to <paramref name="bound"/>; its exit code, or null while it still runs.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan bound)
    {
        using var deadline = new CancellationTokenSource(bound);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>kill -9.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
