using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Entities;

namespace SyncFunctions.Tests.LocalHost.ContractProbe;

// A tiny Function App of the test project's own: one function of every trigger the local host
// serves, written as the Worker SDK expects them, so the local host's contract with the Durable
// extension is checked on its own, apart from what SyncFunctions does with it.

public sealed record ProbeInput(string Name, int TimerSeconds);

public sealed record ProbeOutput(string Greeting, int Count, bool TimerWon);

public static class ProbeFunctions
{
    [Function("ProbeStart")]
    public static async Task<IActionResult> StartAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "probe/{name}")] Microsoft.AspNetCore.Http.HttpRequest request,
        string name,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var id = await client.ScheduleNewOrchestrationInstanceAsync("ProbeOrchestration", new ProbeInput(name, 1), cancellationToken);
        return new ContentResult { StatusCode = 202, Content = id, ContentType = "text/plain" };
    }

    [Function("ProbeOrchestration")]
    public static async Task<ProbeOutput> OrchestrateAsync([OrchestrationTrigger] TaskOrchestrationContext context, ProbeInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var count = await context.Entities.CallEntityAsync<int>(new EntityInstanceId(nameof(ProbeCounter), input.Name), nameof(ProbeCounter.Add), 1);
        var greeting = await context.CallActivityAsync<string>("ProbeGreet", input);
        using var timeout = new CancellationTokenSource();
        var slow = context.CallActivityAsync<string>("ProbeSlow", 3);
        var timer = context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(input.TimerSeconds), timeout.Token);
        var timerWon = await Task.WhenAny(slow, timer) == timer;
        if (!timerWon)
        {
            timeout.Cancel();
        }

        context.SetCustomStatus(new { stage = "done" });
        return new ProbeOutput(greeting, count, timerWon);
    }

    [Function("ProbeGreet")]
    public static string Greet([ActivityTrigger] ProbeInput input) => $"Hello {input?.Name}";

    [Function("ProbeSlow")]
    public static async Task<string> SlowAsync([ActivityTrigger] int seconds, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(seconds), cancellationToken);
        return "slow";
    }

    [Function(nameof(ProbeCounter))]
    public static Task CounterAsync([EntityTrigger] TaskEntityDispatcher dispatcher) => dispatcher.DispatchAsync<ProbeCounter>();

    [Function("ProbeTick")]
    public static Task TickAsync([TimerTrigger("*/1 * * * * *")] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken) =>
        client.Entities.SignalEntityAsync(new EntityInstanceId(nameof(ProbeCounter), "ticks"), nameof(ProbeCounter.Add), 1, cancellation: cancellationToken);
}

public sealed class ProbeCounter : TaskEntity<int>
{
    public int Add(int amount) => State += amount;
}
