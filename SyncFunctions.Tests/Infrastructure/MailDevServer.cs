using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace SyncFunctions.Tests.Infrastructure;

/// <summary>
/// One real MailDev (pinned in package.json) per test run, on free loopback ports, its mail kept in a
/// directory of its own. Tests keep apart by tenant id, which every sync summary names in its subject.
/// Read what arrived through its REST API (<c>GET /api/email</c> in MailDev 3).
/// </summary>
public sealed class MailDevServer
{
    private static readonly Lazy<Task<MailDevServer>> Instance = new(StartAsync);
    private static readonly HttpClient Http = new();

    private MailDevServer(int smtpPort, int webPort)
    {
        SmtpPort = smtpPort;
        WebPort = webPort;
    }

    public int SmtpPort { get; }

    public int WebPort { get; }

    /// <summary>The app settings that send to this MailDev.</summary>
    public Dictionary<string, string?> Settings => new()
    {
        ["SMTP_HOST"] = "127.0.0.1",
        ["SMTP_PORT"] = SmtpPort.ToString(CultureInfo.InvariantCulture),
        ["SMTP_FROM_EMAIL"] = "syncfunctions@tests.example",
        ["SMTP_FROM_NAME"] = "SyncFunctions tests",
    };

    public static Task<MailDevServer> GetAsync() => Instance.Value;

    /// <summary>Every mail received so far whose subject names the tenant.</summary>
    public async Task<IReadOnlyList<JsonElement>> MailsForAsync(string tenantId)
    {
        var text = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{WebPort}/api/email"));
        return JsonDocument.Parse(text).RootElement.EnumerateArray()
            .Where(m => m.GetProperty("subject").GetString()?.Contains($"(tenant {tenantId})", StringComparison.Ordinal) == true)
            .Select(m => m.Clone())
            .ToList();
    }

    /// <summary>Waits (bounded) until the tenant has at least <paramref name="count"/> mails and returns them.</summary>
    public async Task<IReadOnlyList<JsonElement>> WaitForMailsAsync(string tenantId, int count = 1) =>
        await Eventually.MatchAsync(() => MailsForAsync(tenantId), m => m.Count >= count, $"{count} mail(s) for tenant {tenantId}");

    private static async Task<MailDevServer> StartAsync()
    {
        var executable = Path.Combine(RepoRoot.Find(), "node_modules", ".bin", "maildev");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"MailDev is not installed at {executable}: run ./scripts/test.sh (it runs npm ci), or npm ci in the repo root.");
        }

        var (smtp, web) = (ChildProcesses.FreePort(), ChildProcesses.FreePort());
        var directory = Directory.CreateTempSubdirectory("syncfunctions-maildev-").FullName;
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--smtp", smtp.ToString(CultureInfo.InvariantCulture), "--ip", "127.0.0.1",
                     "--web", web.ToString(CultureInfo.InvariantCulture), "--web-ip", "127.0.0.1",
                     "--mail-directory", directory, "--silent",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("MailDev did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        ChildProcesses.Track(process);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // A temp folder left behind is harmless.
            }
        };

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        foreach (var port in new[] { smtp, web })
        {
            await ChildProcesses.WaitForPortAsync("MailDev", port, process, deadline.Token);
        }

        return new MailDevServer(smtp, web);
    }
}
