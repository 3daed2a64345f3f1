namespace SyncFunctions.Tests.Infrastructure;

/// <summary>One app (its own task hub) for a whole test class, whose tests keep apart by tenant id: IClassFixture&lt;SharedSyncApp&gt;.</summary>
public sealed class SharedSyncApp : IAsyncLifetime
{
    public SyncApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await SyncApp.StartAsync();

    public async Task DisposeAsync() => await App.DisposeAsync();
}
