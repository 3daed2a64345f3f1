using System.Text.RegularExpressions;

namespace SyncFunctions.Security;

/// <summary>
/// What a tenant id or connector name may be before it reaches a table key: no key-breaking
/// characters (<c>/ \ # ?</c>, control characters), bounded length.
/// </summary>
public static partial class InputRules
{
    public const int MaxTenantIdLength = 64;

    public static bool IsValidTenantId(string? value) => value is not null && TenantIdPattern().IsMatch(value);

    public static bool IsValidConnectorName(string? value) => value is not null && ConnectorNamePattern().IsMatch(value);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TenantIdPattern();

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,31}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ConnectorNamePattern();
}
