namespace SyncFunctions.Tests.Infrastructure;

/// <summary>One local host (its own task hub) for a whole test class, whose tests keep apart by tenant id: IClassFixture&lt;SharedLocalHost&gt;.</summary>
public sealed class SharedLocalHost : IAsyncLifetime
{
    public LocalHostApp Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await LocalHostApp.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
