using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using FreshBooksConnect.Security;

namespace FreshBooksConnect.Tests;

public sealed class TokenKeyRingTests
{
    private static readonly TokenBinding Access = new("t-a", TokenField.AccessToken, 3);

    private readonly string _k1 = KeyRings.NewKey();
    private readonly string _k2 = KeyRings.NewKey();

    [Fact]
    public void A_token_round_trips_for_its_own_connection_only()
    {
        var ring = KeyRings.Create(("k1", _k1));
        var stored = ring.Protect("token", Access);

        Assert.StartsWith("v2.k1.", stored);
        Assert.True(ring.TryUnprotect(stored, Access, out var token));
        Assert.Equal("token", token);
        Assert.False(ring.TryUnprotect(stored, Access with { ConnectionId = "t-b" }, out _));
        Assert.NotEqual(stored, ring.Protect("token", Access));
    }

    [Fact]
    public void A_token_decrypts_only_in_its_own_column_and_generation()
    {
        var ring = KeyRings.Create(("k1", _k1));
        var stored = ring.Protect("token", Access);

        Assert.False(ring.TryUnprotect(stored, Access with { Field = TokenField.RefreshToken }, out _));
        Assert.False(ring.TryUnprotect(stored, Access with { Generation = 4 }, out _));
        Assert.False(ring.TryUnprotect(stored, Access with { Generation = 2 }, out _));

        // An id that runs into the next field is not the same binding.
        Assert.False(ring.TryUnprotect(ring.Protect("token", new("t-a|field:AccessToken", TokenField.AccessToken, 3)), Access, out _));
    }

    [Fact]
    public void A_value_of_the_format_before_issue_17_still_decrypts_for_its_connection_and_is_not_current()
    {
        var ring = KeyRings.Create(("k1", _k1));
        var old = ConnectionOnlyValue("k1", _k1, "token", "t-a");

        Assert.True(ring.TryUnprotect(old, Access, out var token));
        Assert.Equal("token", token);
        Assert.True(ring.TryUnprotect(old, Access with { Field = TokenField.RefreshToken, Generation = 9 }, out _));
        Assert.False(ring.TryUnprotect(old, Access with { ConnectionId = "t-b" }, out _));
        Assert.Equal("k1", ring.KeyIdOf(old));
        Assert.False(ring.IsCurrent(old));
        Assert.True(ring.IsCurrent(ring.Protect("token", Access)));
    }

    [Fact]
    public void The_key_id_of_a_stored_value_is_read_without_the_key_and_nothing_else_names_one()
    {
        var stored = KeyRings.Create("k2", ("k1", _k1), ("k2", _k2)).Protect("token", Access);
        var ring = KeyRings.Create(("k1", _k1));

        Assert.Equal("k1", ring.CurrentKeyId);
        Assert.Equal("k2", ring.KeyIdOf(stored));
        Assert.False(ring.IsCurrent(stored));
        Assert.Null(ring.KeyIdOf("plain-token"));
        Assert.Null(ring.KeyIdOf("v3.k1.abc"));
        Assert.Null(ring.KeyIdOf("v2..abc"));
        Assert.Null(ring.KeyIdOf("v1..abc"));
        Assert.Null(ring.KeyIdOf(""));
    }

    [Fact]
    public void An_altered_value_does_not_decrypt()
    {
        var ring = KeyRings.Create(("k1", _k1));
        var stored = ring.Protect("token", Access);
        var altered = stored[..^2] + (stored[^2] == 'A' ? 'B' : 'A') + stored[^1];

        Assert.False(ring.TryUnprotect(altered, Access, out _));
        Assert.False(ring.TryUnprotect("v1" + stored[2..], Access, out _));
        Assert.False(ring.TryUnprotect("v2.k1.!!!", Access, out _));
        Assert.False(ring.TryUnprotect("plain-token", Access, out _));
    }

    [Fact]
    public void After_rotation_old_values_still_decrypt_and_new_writes_use_the_current_key()
    {
        var old = KeyRings.Create(("k1", _k1)).Protect("token", Access);
        var rotated = KeyRings.Create("k2", ("k1", _k1), ("k2", _k2));

        Assert.True(rotated.TryUnprotect(old, Access, out var token));
        Assert.Equal("token", token);
        Assert.StartsWith("v2.k2.", rotated.Protect("token", Access));
        Assert.False(KeyRings.Create(("k2", _k2)).TryUnprotect(old, Access, out _));
    }

    [Theory]
    [InlineData("", null, "TokenProtection__CurrentKeyId is required")]
    [InlineData("k1", null, "TokenProtection__Keys__k1 is required")]
    [InlineData("k1", "c2hvcnQ=", "TokenProtection__Keys__k1 must be base64 of exactly 32 bytes")]
    [InlineData("k1", "not base64!", "TokenProtection__Keys__k1 must be base64 of exactly 32 bytes")]
    public void Missing_or_malformed_keys_fail_validation_naming_the_setting(string current, string? key, string message)
    {
        var options = new TokenProtectionOptions { CurrentKeyId = current };
        if (key is not null)
        {
            options.Keys["k1"] = key;
        }

        var result = new TokenProtectionOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains(message, StringComparison.Ordinal));
    }

    /// <summary>A value as the version before issue 17 wrote it: <c>v1</c>, the connection id alone as associated data.</summary>
    internal static string ConnectionOnlyValue(string keyId, string key, string token, string connectionId)
    {
        var plaintext = Encoding.UTF8.GetBytes(token);
        var payload = new byte[12 + plaintext.Length + 16];
        RandomNumberGenerator.Fill(payload.AsSpan(0, 12));
        using var aes = new AesGcm(Convert.FromBase64String(key), 16);
        aes.Encrypt(payload.AsSpan(0, 12), plaintext, payload.AsSpan(12, plaintext.Length), payload.AsSpan(12 + plaintext.Length), Encoding.UTF8.GetBytes("connection:" + connectionId));
        return $"v1.{keyId}.{Base64Url.EncodeToString(payload)}";
    }
}
