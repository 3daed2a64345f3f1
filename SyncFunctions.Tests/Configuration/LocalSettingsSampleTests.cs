using System.Reflection;
using System.Text.Json;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Configuration;

public sealed class LocalSettingsSampleTests
{
    [Theory]
    [InlineData(typeof(SyncFunctions.Configuration.SyncOptions))]
    [InlineData(typeof(SyncFunctions.Notifications.NotificationOptions))]
    [InlineData(typeof(SyncFunctions.Notifications.SmtpOptions))]
    [InlineData(typeof(SyncFunctions.Notifications.AcsEmailOptions))]
    public void Sample_ForEveryBoundSetting_HasAnEntryUnderValues(Type options)
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot.Find(), "local.settings.sample.json")));
        var values = sample.RootElement.GetProperty("Values").EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

        var names = options.GetProperties()
            .Select(p => p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name)
            .OfType<string>()
            .ToList();

        Assert.NotEmpty(names);
        Assert.All(names, name => Assert.Contains(name, values));
    }
}
