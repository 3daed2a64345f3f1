using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Infra;

/// <summary>
/// infra/main.bicep as the real Bicep CLI sees it, once per test class: the compiled ARM JSON, the
/// build and lint output, and two deployment snapshots (<c>bicep snapshot</c> evaluates the template
/// locally, modules expanded, for a given subscription, tenant and parameters), one with a deploying
/// user's principal id and one without. What only Azure knows at deployment time (a principal id,
/// a host name, a connection string) stays in a snapshot as an ARM expression such as
/// <c>[reference('/subscriptions/…/userAssignedIdentities/id-…', '2023-01-31').principalId]</c>.
/// </summary>
public sealed class InfraTemplate : IAsyncLifetime
{
    public const string EnvironmentName = "ci";
    public const string Location = "eastus";
    public const string SubscriptionId = "00000000-0000-0000-0000-00000000c001";
    public const string TenantId = "00000000-0000-0000-0000-00000000c002";
    public const string UserPrincipalId = "00000000-0000-0000-0000-00000000c0de";
    public const string AuthAuthority = "https://login.microsoftonline.com/00000000-0000-0000-0000-00000000c002/v2.0";
    public const string AuthAudience = "api://syncfunctions-ci";

    private string workDirectory = "";

    public string RepoRoot { get; } = Infrastructure.RepoRoot.Find();

    public string InfraDirectory => Path.Combine(RepoRoot, "infra");

    /// <summary>The compiled ARM template (main.bicep with its modules inlined as nested deployments).</summary>
    public string CompiledText { get; private set; } = "";

    public JsonObject Compiled { get; private set; } = null!;

    public ProcessResult Build { get; private set; } = null!;

    public ProcessResult Lint { get; private set; } = null!;

    /// <summary>Evaluated with principalId set: the deploying user's assignments are in.</summary>
    public JsonObject WithUser { get; private set; } = null!;

    /// <summary>Evaluated with principalId empty, as in a pipeline that gives none.</summary>
    public JsonObject WithoutUser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var bicep = FindBicep();
        workDirectory = Directory.CreateTempSubdirectory("syncfunctions-infra-").FullName;
        var mainBicep = Path.Combine(InfraDirectory, "main.bicep");
        var compiledPath = Path.Combine(workDirectory, "main.json");

        var build = RunAsync(bicep, "build", mainBicep, "--no-restore", "--outfile", compiledPath);
        var lint = RunAsync(bicep, "lint", mainBicep, "--no-restore");
        var withUser = SnapshotAsync(bicep, "with-user", UserPrincipalId);
        var withoutUser = SnapshotAsync(bicep, "without-user", "");
        await Task.WhenAll(build, lint, withUser, withoutUser);

        Build = await build;
        Lint = await lint;
        CompiledText = File.Exists(compiledPath)
            ? await File.ReadAllTextAsync(compiledPath)
            : throw new InvalidOperationException("bicep build wrote no template:\n" + Build.Output);
        Compiled = JsonNode.Parse(CompiledText)!.AsObject();
        WithUser = await withUser;
        WithoutUser = await withoutUser;
    }

    public Task DisposeAsync()
    {
        if (workDirectory.Length > 0)
        {
            Directory.Delete(workDirectory, recursive: true);
        }

        return Task.CompletedTask;
    }

    private async Task<JsonObject> SnapshotAsync(string bicep, string name, string principalId)
    {
        // A .bicepparam file must name its template by a relative path.
        var parametersPath = Path.Combine(workDirectory, name + ".bicepparam");
        var usingPath = Path.GetRelativePath(workDirectory, Path.Combine(InfraDirectory, "main.bicep")).Replace('\\', '/');
        await File.WriteAllTextAsync(parametersPath, $"""
            using '{usingPath}'
            param environmentName = '{EnvironmentName}'
            param location = '{Location}'
            param principalId = '{principalId}'
            param authAuthority = '{AuthAuthority}'
            param authAudience = '{AuthAudience}'
            """);

        var result = await RunAsync(
            bicep, "snapshot", parametersPath, "--mode", "overwrite",
            "--subscription-id", SubscriptionId, "--tenant-id", TenantId, "--location", Location,
            "--deployment-name", "syncfunctions-ci");
        var snapshotPath = Path.Combine(workDirectory, name + ".snapshot.json");
        if (result.ExitCode != 0 || !File.Exists(snapshotPath))
        {
            throw new InvalidOperationException($"bicep snapshot failed ({result.ExitCode}):\n{result.Output}");
        }

        return JsonNode.Parse(await File.ReadAllTextAsync(snapshotPath))!.AsObject();
    }

    /// <summary>The CLI restored by this project's PackageReference; its path is baked in at build time.</summary>
    private static string FindBicep()
    {
        var path = typeof(InfraTemplate).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "BicepCliPath")?.Value;
        if (path is null || !File.Exists(path))
        {
            throw new InvalidOperationException($"The Bicep CLI is not at '{path}'. Restore the test project (dotnet restore SyncFunctions.Tests).");
        }

        // NuGet does not always keep the executable bit of a package's files.
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if (!mode.HasFlag(UnixFileMode.UserExecute))
            {
                File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            }
        }

        return path;
    }

    private static async Task<ProcessResult> RunAsync(string fileName, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start " + fileName);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish in 3 minutes.");
        }

        return new ProcessResult(process.ExitCode, (await stdout) + (await stderr));
    }
}

public sealed record ProcessResult(int ExitCode, string Output);
