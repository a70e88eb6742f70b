using System.Diagnostics.Metrics;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Renewal;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Connections;

/// <summary>
/// This instance's current decrypted tokens, for the token API and the proxy: a short-lived, size-bounded
/// <see cref="MemoryCache"/>. An entry lives at most <see cref="TokenCacheOptions.Lifetime"/> and never into the inline-refresh
/// window of its token's expiry (the token API's own rule). Every change this instance writes, and every row it reads that no
/// longer matches an entry (another generation, not active), drops the entry; a read that began before such a drop is not
/// cached. A refresh on another instance is not seen here: the token cached meanwhile is dead at FreshBooks, and the 401 it
/// gets is the signal (the proxy then refreshes-if-still-current and retries; a SaaS using the token API posts it to the
/// refresh route).
/// </summary>
public sealed class ConnectionTokenCache : IDisposable
{
    /// <summary>Stripes of drop counters, so a drop of one connection rarely stops another's read from being cached.</summary>
    private const int Stripes = 256;

    private readonly MemoryCache? _cache;
    private readonly TimeSpan _lifetime;
    private readonly TimeSpan _inlineRefreshBefore;
    private readonly TimeProvider _time;
    private readonly long[] _drops = new long[Stripes];
    private readonly Lock[] _gates = [.. Enumerable.Range(0, Stripes).Select(_ => new Lock())];
    private readonly Counter<long> _hits;
    private readonly Counter<long> _misses;

    public ConnectionTokenCache(IOptions<TokenCacheOptions> options, IOptions<RenewalOptions> renewal, TimeProvider time, IMeterFactory meterFactory)
    {
        _lifetime = options.Value.Lifetime;
        _inlineRefreshBefore = renewal.Value.InlineRefreshBefore;
        _time = time;
        _cache = _lifetime > TimeSpan.Zero ? new MemoryCache(new MemoryCacheOptions { SizeLimit = options.Value.MaxEntries }) : null;
        var meter = meterFactory.Create(RenewalMetrics.MeterName);
        _hits = meter.CreateCounter<long>("freshbooks.token_cache.hits", "{request}", "Token requests answered from this instance's token cache");
        _misses = meter.CreateCounter<long>("freshbooks.token_cache.misses", "{request}", "Token requests that read storage (cache off, or no usable entry)");
    }

    /// <summary>True when caching is on (<see cref="TokenCacheOptions.Lifetime"/> above zero).</summary>
    public bool IsEnabled => _cache is not null;

    /// <summary>The cached current token of <paramref name="connectionId"/>, when there is one still inside its lifetime.</summary>
    internal bool TryGet(string connectionId, out Connection connection)
    {
        if (_cache is not null && _cache.TryGetValue(connectionId, out Entry? entry) && entry is not null && IsServable(entry, _time.GetUtcNow()))
        {
            _hits.Add(1);
            connection = entry.Connection;
            return true;
        }

        _misses.Add(1);
        connection = null!;
        return false;
    }

    /// <summary>Taken before reading storage for a token; <see cref="Offer"/> caches the answer only if nothing was dropped since.</summary>
    internal long Stamp(string connectionId) => Volatile.Read(ref _drops[Stripe(connectionId)]);

    /// <summary>Caches <paramref name="connection"/>, just handed out, unless a change was seen since <paramref name="stamp"/>.</summary>
    internal void Offer(Connection connection, long stamp)
    {
        var now = _time.GetUtcNow();
        if (_cache is null || connection is not { Status: ConnectionStatus.Active, TokensReadable: true })
        {
            return;
        }

        // A cached copy carries nothing a write could use: no refresh token, no version (a write from it would throw).
        var entry = new Entry(connection with { RefreshToken = "", Version = null }, now);
        var keepFor = Min(_lifetime, connection.AccessTokenExpiresAt - _inlineRefreshBefore - now);
        if (keepFor <= TimeSpan.Zero)
        {
            return;
        }

        var stripe = Stripe(connection.Id);
        lock (_gates[stripe])
        {
            if (_drops[stripe] == stamp)
            {
                _cache.Set(connection.Id, entry, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = keepFor });
            }
        }
    }

    /// <summary>A change of <paramref name="connectionId"/> was written (or tried) here, or its token was rejected: forget it.</summary>
    internal void Drop(string connectionId)
    {
        if (_cache is null)
        {
            return;
        }

        var stripe = Stripe(connectionId);
        lock (_gates[stripe])
        {
            _drops[stripe]++;
            _cache.Remove(connectionId);
        }
    }

    /// <summary>The store read <paramref name="stored"/>: an entry of another generation or state is out of date.</summary>
    internal void Seen(Connection stored)
    {
        if (_cache is not null && _cache.TryGetValue(stored.Id, out Entry? entry) && entry is not null
            && (entry.Connection.TokenGeneration != stored.TokenGeneration || stored.Status != ConnectionStatus.Active || !stored.TokensReadable
                || entry.Connection.AccessToken != stored.AccessToken))
        {
            Drop(stored.Id);
        }
    }

    public void Dispose() => _cache?.Dispose();

    // Checked against the app's clock as well as the cache's own: tests move the app's clock, and the rule is the token API's.
    private bool IsServable(Entry entry, DateTimeOffset now) =>
        now - entry.CachedAt < _lifetime && entry.Connection.AccessTokenExpiresAt - _inlineRefreshBefore > now;

    private static int Stripe(string connectionId) => (int)((uint)StringComparer.Ordinal.GetHashCode(connectionId) % Stripes);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private sealed record Entry(Connection Connection, DateTimeOffset CachedAt);
}
