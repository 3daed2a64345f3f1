using System.Diagnostics;
using Microsoft.Extensions.Options;
using SyncFunctions.Configuration;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Configuration;

public sealed class SyncOptionsValidatorTests
{
    [Fact]
    public void Validate_WithDefaults_Succeeds() =>
        Assert.True(new SyncOptionsValidator().Validate(null, new SyncOptions()).Succeeded);

    [Fact]
    public void Validate_WithANegativeTimeout_NamesTheVariable()
    {
        var result = new SyncOptionsValidator().Validate(null, new SyncOptions { BaseTimeoutSeconds = -5 });
        Assert.True(result.Failed);
        Assert.Contains("SYNC_BASE_TIMEOUT_SECONDS", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WithMinimumAboveMaximum_NamesBothVariables()
    {
        var result = new SyncOptionsValidator().Validate(null, new SyncOptions { MinTimeoutSeconds = 900, MaxTimeoutSeconds = 600 });
        Assert.Contains("SYNC_MIN_TIMEOUT_SECONDS", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("SYNC_MAX_TIMEOUT_SECONDS", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 6, 1000, "SYNC_REQUEST_TIMEOUT_SECONDS")]
    [InlineData(30, 21, 1000, "SYNC_REQUEST_MAX_RETRIES")]
    [InlineData(30, 6, 5, "SYNC_REQUEST_RETRY_DELAY_MILLISECONDS")]
    public void Validate_WithABadRequestSetting_NamesTheVariable(int timeoutSeconds, int retries, int delayMilliseconds, string variable)
    {
        var result = new SyncOptionsValidator().Validate(null, new SyncOptions
        {
            RequestTimeoutSeconds = timeoutSeconds,
            RequestMaxRetries = retries,
            RequestRetryDelayMilliseconds = delayMilliseconds,
        });
        Assert.True(result.Failed);
        Assert.Contains(variable, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void StaleAfter_WhenUnset_IsThreeHeartbeats() =>
        Assert.Equal(TimeSpan.FromSeconds(90), new SyncOptions().StaleAfter);

    [Theory]
    [InlineData("SYNC_HEARTBEAT_INTERVAL_SECONDS", "0")]
    [InlineData("SYNC_ITEM_PARALLELISM", "many")]
    [InlineData("SYNC_MAX_TIMEOUT_SECONDS", "-1")]
    public async Task Start_WithABadVariable_ExitsWithAMessageNamingIt(string variable, string value)
    {
        var azurite = await AzuriteServer.GetAsync();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SyncFunctions.LocalHost.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add("http://127.0.0.1:0");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["AzureWebJobsStorage"] = azurite.ConnectionString;
        start.Environment["SYNC_STORAGE_PREFIX"] = SyncApp.NewPrefix();
        start.Environment["SYNC_TASK_HUB"] = SyncApp.NewPrefix() + "hub";
        start.Environment[variable] = value;

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        var output = await stderr + await stdout;
        Assert.Equal(1, process.ExitCode);
        Assert.Contains(variable, await stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }
}
