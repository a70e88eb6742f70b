using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace FreshBooks.Emulator.Internal;

/// <summary>RFC 7636 with the S256 method only.</summary>
internal static partial class Pkce
{
    public static bool IsS256Challenge(string challenge) => S256Challenge().IsMatch(challenge);

    /// <summary>True when <paramref name="verifier"/> is a well-formed code_verifier whose SHA-256 is <paramref name="challenge"/>.</summary>
    public static bool Verifies(string? verifier, string challenge) =>
        verifier is not null
        && Verifier().IsMatch(verifier)
        && CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)))),
            Encoding.ASCII.GetBytes(challenge));

    [GeneratedRegex("^[A-Za-z0-9_-]{43}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex S256Challenge();

    /// <summary>43 to 128 unreserved characters (RFC 7636 4.1).</summary>
    [GeneratedRegex("^[A-Za-z0-9._~-]{43,128}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Verifier();
}
