using Microsoft.Extensions.Options;
using SyncFunctions.Notifications;

namespace SyncFunctions.Tests.Notifications;

public sealed class DashboardLinkTests
{
    private static NotificationOptions Resolve(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton(TimeProvider.System);
        services.AddNotifications(configuration);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<NotificationOptions>>().Value;
    }

    [Fact]
    public void DashboardUrl_InAppServiceWithoutASetting_IsTheAppsOwnHost() =>
        Assert.Equal("https://func-syncfunctions-abc.azurewebsites.net/", Resolve(new() { ["WEBSITE_HOSTNAME"] = "func-syncfunctions-abc.azurewebsites.net" }).DashboardUrl);

    [Fact]
    public void DashboardUrl_WhenSet_WinsOverTheHostName() =>
        Assert.Equal("https://sync.contoso.example/", Resolve(new() { ["WEBSITE_HOSTNAME"] = "func.azurewebsites.net", ["SYNC_DASHBOARD_URL"] = "https://sync.contoso.example/" }).DashboardUrl);

    [Fact]
    public void DashboardUrl_Locally_IsTheRunCommandsAddress() =>
        Assert.Equal("http://localhost:5080/", Resolve([]).DashboardUrl);
}
