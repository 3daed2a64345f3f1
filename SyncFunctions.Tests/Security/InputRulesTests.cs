using SyncFunctions.Security;

namespace SyncFunctions.Tests.Security;

public sealed class InputRulesTests
{
    [Theory]
    [InlineData("demo")]
    [InlineData("Contoso.EU_1-a")]
    [InlineData("0")]
    public void IsValidTenantId_WithKeySafeIds_IsTrue(string value) => Assert.True(InputRules.IsValidTenantId(value));

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("a#b")]
    [InlineData("a?b")]
    [InlineData("demo\n")]
    [InlineData("de\tmo")]
    [InlineData("-leading")]
    [InlineData("~sweeper")]
    [InlineData("a b")]
    public void IsValidTenantId_WithKeyBreakingIds_IsFalse(string value) => Assert.False(InputRules.IsValidTenantId(value));

    [Fact]
    public void IsValidTenantId_WithAKilobyteId_IsFalse() => Assert.False(InputRules.IsValidTenantId(new string('a', 1024)));

    [Theory]
    [InlineData("demo", true)]
    [InlineData("google_drive", true)]
    [InlineData("Demo", false)]
    [InlineData("demo\n", false)]
    [InlineData("1demo", false)]
    [InlineData("de/mo", false)]
    public void IsValidConnectorName_FollowsTheRule(string value, bool expected) => Assert.Equal(expected, InputRules.IsValidConnectorName(value));
}
