using FreshBooksConnect.Consent;
using FreshBooksConnect.Security;

namespace FreshBooksConnect.Tests;

public sealed class Base64KeyTests
{
    private static string Key(int bytes) => Convert.ToBase64String(Enumerable.Range(0, bytes).Select(i => (byte)i).ToArray());

    [Theory]
    [InlineData(31, false, false)]
    [InlineData(32, true, true)]
    [InlineData(33, false, true)]
    [InlineData(64, false, true)]
    public void Token_keys_are_exactly_32_bytes_and_signing_keys_at_least_32(int bytes, bool tokenKey, bool signingKey)
    {
        Assert.Equal(tokenKey, TokenKeyRing.TryDecodeKey(Key(bytes), out var decoded));
        Assert.Equal(tokenKey ? bytes : 0, decoded.Length);
        Assert.Equal(signingKey, OnboardingLinks.TryDecodeKey($"  {Key(bytes)}\n", out decoded));
        Assert.Equal(signingKey ? Enumerable.Range(0, bytes).Select(i => (byte)i).ToArray() : [], decoded);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not base64!")]
    public void Missing_or_malformed_keys_are_refused(string? value)
    {
        Assert.False(Base64Key.TryDecode(value, 32, int.MaxValue, out var key));
        Assert.Empty(key);
    }
}
