using System.Text.Json;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Entities;
using SyncFunctions.LocalHost.Durable;
using SyncFunctions.Tests.Infrastructure;
using SyncFunctions.Tests.LocalHost.ContractProbe;

namespace SyncFunctions.Tests.LocalHost;

/// <summary>
/// The smoke test of the local host's contracts with the Durable extension (DESIGN, "Two hosts"):
/// a function of every trigger, on the real extension and Azurite. An upgrade of the extension, the
/// Durable Task SDK or the worker extension that breaks one of them fails here, by name.
/// </summary>
public sealed class LocalHostContractTests : IAsyncLifetime
{
    private SyncApp _host = null!;

    public async Task InitializeAsync() => _host = await SyncApp.StartAsync(functionApp: typeof(ProbeFunctions).Assembly);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public void EntityDispatcher_InternalsTheHostUses_StillExist()
    {
        Assert.True(EntityDispatchers.Available, "TaskEntityDispatcher(string, IServiceProvider) and its Result are gone: the local host cannot run entities. It has: "
            + string.Join("; ", typeof(Microsoft.Azure.Functions.Worker.TaskEntityDispatcher).GetMembers(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public).Select(m => m.ToString())));
    }

    [Fact]
    public async Task HttpFunction_SchedulesAnOrchestration_ThatCallsAnEntityAnActivityAndRacesATimer()
    {
        using var http = _host.CreateClient();
        var response = await http.PostAsync("/probe/alpha", null);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var instanceId = await response.Content.ReadAsStringAsync();

        var client = await _host.DurableClientAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var instance = await client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, deadline.Token);

        Assert.True(instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"{instance.RuntimeStatus}: {instance.FailureDetails?.ErrorType} {instance.FailureDetails?.ErrorMessage} {instance.FailureDetails?.StackTrace}\n" + string.Join("\n", _host.Logs.Lines.TakeLast(30)));
        var output = instance.ReadOutputAs<ProbeOutput>()!;
        Assert.Equal("Hello alpha", output.Greeting);
        Assert.Equal(1, output.Count);
        Assert.True(output.TimerWon, "the 1 s durable timer should beat the 3 s activity");
        Assert.Equal("done", JsonDocument.Parse(instance.SerializedCustomStatus!).RootElement.GetProperty("stage").GetString());
    }

    [Fact]
    public async Task TimerFunction_RunsOnItsSchedule_WithADurableClient()
    {
        var client = await _host.DurableClientAsync();
        await Eventually.MatchAsync(
            async () => (await client.Entities.GetEntityAsync(new EntityInstanceId(nameof(ProbeCounter), "ticks")))?.State.ReadAs<int>() ?? 0,
            ticks => ticks >= 2,
            "two ticks of the every-second timer function");
    }
}
