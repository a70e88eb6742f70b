using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace FreshBooksConnect.Consent;

/// <summary>
/// The <c>state</c> a consent sends through FreshBooks: base64url of its expiry (8 bytes, big-endian Unix seconds) followed by 32
/// random bytes, 54 characters. The callback reads the expiry out of it to find the stored state with one read (states are
/// stored under the minute they expire in, so the purge deletes a range of expired rows); the state is stored under its hash,
/// so an altered expiry finds nothing. Before issue 17 a state was 43 characters, 32 random bytes and no expiry.
/// </summary>
internal static class ConsentStateToken
{
    private const int ExpirySize = 8;
    private const int RandomSize = 32;
    private const int Length = 54;
    private const int LegacyLength = 43;
    private static readonly long MinSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds();
    private static readonly long MaxSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    /// <summary>A new state expiring at <paramref name="expiresAt"/>, to the second (what <see cref="TryRead"/> gives back).</summary>
    public static string Create(DateTimeOffset expiresAt)
    {
        var bytes = new byte[ExpirySize + RandomSize];
        BinaryPrimitives.WriteInt64BigEndian(bytes, expiresAt.ToUnixTimeSeconds());
        RandomNumberGenerator.Fill(bytes.AsSpan(ExpirySize));
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>
    /// False when <paramref name="value"/> is no state this app made. Otherwise the expiry it carries, or null for a state made
    /// before issue 17 (stored in the old layout).
    /// </summary>
    public static bool TryRead(string? value, out DateTimeOffset? expiresAt)
    {
        expiresAt = null;
        if (value is not { Length: Length or LegacyLength } || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return false;
        }

        if (value.Length == LegacyLength)
        {
            return true;
        }

        var seconds = BinaryPrimitives.ReadInt64BigEndian(Base64Url.DecodeFromChars(value));
        if (seconds < MinSeconds || seconds > MaxSeconds)
        {
            return false;
        }

        expiresAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }

    /// <summary>The expiry a state made now can carry: <paramref name="expiresAt"/> to the second.</summary>
    public static DateTimeOffset ToSeconds(DateTimeOffset expiresAt) => DateTimeOffset.FromUnixTimeSeconds(expiresAt.ToUnixTimeSeconds());
}
