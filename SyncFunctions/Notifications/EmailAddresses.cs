using System.Net.Mail;

namespace SyncFunctions.Notifications;

/// <summary>What this service accepts as a recipient or sender: one bare address, no display name, at most 254 characters.</summary>
public static class EmailAddresses
{
    public const int MaxLength = 254;

    public static bool IsValid(string? value) =>
        value is { Length: > 2 and <= MaxLength }
        && !value.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c is '<' or '>' or ',' or ';' or '"')
        && MailAddress.TryCreate(value, out var parsed)
        && parsed.Address == value
        && parsed.Host.Contains('.', StringComparison.Ordinal);
}
