namespace SyncFunctions.Tests.Infrastructure;

/// <summary>One app for a whole test class (its tests keep apart by tenant id): IClassFixture&lt;SharedSyncApp&gt;.</summary>
public sealed class SharedSyncApp : IAsyncLifetime
{
    public SyncApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await SyncApp.StartAsync();

    public Task DisposeAsync()
    {
        App.Dispose();
        return Task.CompletedTask;
    }
}
