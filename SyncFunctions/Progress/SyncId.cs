using System.Security.Cryptography;

namespace SyncFunctions.Progress;

/// <summary>
/// ULID-style sync ids: 48 bits of start time in milliseconds and 80 random bits, Crockford base32.
/// Because the id carries its start time, the operation's newest-first row key can be derived from
/// the id alone and every read by id is a point read.
/// </summary>
public static class SyncId
{
    public const int Length = 26;
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private const long MaxMilliseconds = (1L << 48) - 1;

    public static string New(DateTimeOffset now)
    {
        Span<char> chars = stackalloc char[Length];
        var time = now.ToUnixTimeMilliseconds();
        for (var i = 9; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(time & 31)];
            time >>= 5;
        }

        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        for (var i = 10; i < Length; i++)
        {
            chars[i] = Alphabet[random[i - 10] & 31];
        }

        return new string(chars);
    }

    public static bool IsValid(string? value)
    {
        if (value is null || value.Length != Length || value[0] > '7')
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!Alphabet.Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    public static DateTimeOffset StartTime(string syncId)
    {
        long time = 0;
        for (var i = 0; i < 10; i++)
        {
            time = (time << 5) | (long)Alphabet.IndexOf(syncId[i], StringComparison.Ordinal);
        }

        return DateTimeOffset.FromUnixTimeMilliseconds(time);
    }

    /// <summary>Inverted start time first, so a partition scan returns the newest operation first.</summary>
    public static string RowKey(string syncId) =>
        (MaxMilliseconds - StartTime(syncId).ToUnixTimeMilliseconds()).ToString("D15", System.Globalization.CultureInfo.InvariantCulture) + "-" + syncId;
}
