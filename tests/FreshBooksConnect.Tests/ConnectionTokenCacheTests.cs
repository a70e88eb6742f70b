using FreshBooksConnect.Connections;
using Microsoft.Extensions.Time.Testing;

namespace FreshBooksConnect.Tests;

public sealed class ConnectionTokenCacheTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Now);

    private static Connection Current(long generation = 1, string token = "access-1", DateTimeOffset? expiresAt = null) =>
        TableConnectionStoreTests.Sample("\"v1\"") with { TokenGeneration = generation, AccessToken = token, AccessTokenExpiresAt = expiresAt ?? Now.AddHours(12) };

    [Fact]
    public void A_token_offered_after_a_read_is_served_without_its_refresh_token_or_version()
    {
        var cache = TestMeters.TokenCache(time: _time);

        cache.Offer(Current(), cache.Stamp("t-acme"));

        Assert.True(cache.TryGet("t-acme", out var cached));
        Assert.Equal("access-1", cached.AccessToken);
        Assert.Equal("", cached.RefreshToken);
        Assert.Null(cached.Version);
    }

    [Fact]
    public void A_change_dropped_while_the_read_was_under_way_keeps_the_read_out_of_the_cache()
    {
        var cache = TestMeters.TokenCache(time: _time);
        var stamp = cache.Stamp("t-acme");

        cache.Drop("t-acme");
        cache.Offer(Current(), stamp);

        Assert.False(cache.TryGet("t-acme", out _));
    }

    [Fact]
    public void A_written_change_drops_the_entry()
    {
        var cache = TestMeters.TokenCache(time: _time);
        cache.Offer(Current(), cache.Stamp("t-acme"));

        cache.Drop("t-acme");

        Assert.False(cache.TryGet("t-acme", out _));
    }

    [Theory]
    [InlineData(2, "access-1", ConnectionStatus.Active)]
    [InlineData(1, "access-2", ConnectionStatus.Active)]
    [InlineData(1, "access-1", ConnectionStatus.NeedsReconsent)]
    [InlineData(1, "access-1", ConnectionStatus.Removing)]
    public void A_row_read_with_another_generation_token_or_state_drops_the_entry(long generation, string token, ConnectionStatus status)
    {
        var cache = TestMeters.TokenCache(time: _time);
        cache.Offer(Current(), cache.Stamp("t-acme"));

        cache.Seen(Current(generation, token) with { Status = status });

        Assert.False(cache.TryGet("t-acme", out _));
    }

    [Fact]
    public void The_same_row_read_again_keeps_the_entry()
    {
        var cache = TestMeters.TokenCache(time: _time);
        cache.Offer(Current(), cache.Stamp("t-acme"));

        cache.Seen(Current() with { Version = "\"v2\"", LastError = "a renewal failed" });

        Assert.True(cache.TryGet("t-acme", out _));
    }

    [Fact]
    public void An_entry_is_not_served_past_its_lifetime()
    {
        var cache = TestMeters.TokenCache(TimeSpan.FromSeconds(30), _time);
        cache.Offer(Current(), cache.Stamp("t-acme"));

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.True(cache.TryGet("t-acme", out _));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet("t-acme", out _));
    }

    [Fact]
    public void An_entry_is_never_served_inside_the_inline_refresh_window_of_its_expiry()
    {
        // Expires in 5 min 10 s; the inline window is 5 minutes: cacheable for 10 s only, whatever the lifetime.
        var cache = TestMeters.TokenCache(TimeSpan.FromMinutes(1), _time);
        cache.Offer(Current(expiresAt: Now.AddMinutes(5).AddSeconds(10)), cache.Stamp("t-acme"));

        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.True(cache.TryGet("t-acme", out _));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet("t-acme", out _));
    }

    [Fact]
    public void A_token_already_inside_the_inline_window_is_not_cached()
    {
        var cache = TestMeters.TokenCache(time: _time);

        cache.Offer(Current(expiresAt: Now.AddMinutes(4)), cache.Stamp("t-acme"));

        Assert.False(cache.TryGet("t-acme", out _));
    }

    [Theory]
    [InlineData(ConnectionStatus.NeedsReconsent)]
    [InlineData(ConnectionStatus.Removing)]
    public void A_connection_that_is_not_active_is_not_cached(ConnectionStatus status)
    {
        var cache = TestMeters.TokenCache(time: _time);

        cache.Offer(Current() with { Status = status }, cache.Stamp("t-acme"));

        Assert.False(cache.TryGet("t-acme", out _));
    }

    [Fact]
    public void A_zero_lifetime_turns_the_cache_off()
    {
        var cache = TestMeters.TokenCache(TimeSpan.Zero, _time);

        cache.Offer(Current(), cache.Stamp("t-acme"));

        Assert.False(cache.IsEnabled);
        Assert.False(cache.TryGet("t-acme", out _));
    }
}
