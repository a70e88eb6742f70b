using FreshBooksConnect.Security;

namespace FreshBooksConnect.Tests;

public sealed class TokenKeyRingTests
{
    private readonly string _k1 = KeyRings.NewKey();
    private readonly string _k2 = KeyRings.NewKey();

    [Fact]
    public void A_token_round_trips_for_its_own_connection_only()
    {
        var ring = KeyRings.Create(("k1", _k1));
        var stored = ring.Protect("token", "t-a");

        Assert.StartsWith("v1.k1.", stored);
        Assert.True(ring.TryUnprotect(stored, "t-a", out var token));
        Assert.Equal("token", token);
        Assert.False(ring.TryUnprotect(stored, "t-b", out _));
        Assert.NotEqual(stored, ring.Protect("token", "t-a"));
    }

    [Fact]
    public void The_key_id_of_a_stored_value_is_read_without_the_key_and_nothing_else_names_one()
    {
        var stored = KeyRings.Create("k2", ("k1", _k1), ("k2", _k2)).Protect("token", "t-a");
        var ring = KeyRings.Create(("k1", _k1));

        Assert.Equal("k1", ring.CurrentKeyId);
        Assert.Equal("k2", ring.KeyIdOf(stored));
        Assert.Null(ring.KeyIdOf("plain-token"));
        Assert.Null(ring.KeyIdOf("v2.k1.abc"));
        Assert.Null(ring.KeyIdOf("v1..abc"));
        Assert.Null(ring.KeyIdOf(""));
    }

    [Fact]
    public void An_altered_value_does_not_decrypt()
    {
        var ring = KeyRings.Create(("k1", _k1));
        var stored = ring.Protect("token", "t-a");
        var altered = stored[..^2] + (stored[^2] == 'A' ? 'B' : 'A') + stored[^1];

        Assert.False(ring.TryUnprotect(altered, "t-a", out _));
        Assert.False(ring.TryUnprotect("v1.k1.!!!", "t-a", out _));
        Assert.False(ring.TryUnprotect("plain-token", "t-a", out _));
    }

    [Fact]
    public void After_rotation_old_values_still_decrypt_and_new_writes_use_the_current_key()
    {
        var old = KeyRings.Create(("k1", _k1)).Protect("token", "t-a");
        var rotated = KeyRings.Create("k2", ("k1", _k1), ("k2", _k2));

        Assert.True(rotated.TryUnprotect(old, "t-a", out var token));
        Assert.Equal("token", token);
        Assert.StartsWith("v1.k2.", rotated.Protect("token", "t-a"));
        Assert.False(KeyRings.Create(("k2", _k2)).TryUnprotect(old, "t-a", out _));
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
}
