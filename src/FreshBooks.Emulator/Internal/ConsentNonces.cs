using System.Security.Cryptography;

namespace FreshBooks.Emulator.Internal;

/// <summary>
/// The consent form's anti-forgery nonces: one per rendered page, bound to its authorize request,
/// single use, valid for an hour of emulator time.
/// </summary>
internal sealed class ConsentNonces(TimeProvider clock)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (AuthorizeRequest Request, DateTimeOffset ExpiresAt)> _pending = new(StringComparer.Ordinal);

    public string Issue(AuthorizeRequest request)
    {
        var nonce = RandomNumberGenerator.GetHexString(32, lowercase: true);
        var now = clock.GetUtcNow();
        lock (_gate)
        {
            if (_pending.Count > 1000)
            {
                foreach (var stale in _pending.Where(p => p.Value.ExpiresAt <= now).Select(p => p.Key).ToList())
                {
                    _pending.Remove(stale);
                }
            }

            _pending[nonce] = (request, now + Lifetime);
        }

        return nonce;
    }

    /// <summary>Spends the nonce; true only if it was issued for exactly this request and has not expired.</summary>
    public bool TryRedeem(string? nonce, AuthorizeRequest request)
    {
        if (nonce is null)
        {
            return false;
        }

        lock (_gate)
        {
            return _pending.Remove(nonce, out var entry)
                && entry.ExpiresAt > clock.GetUtcNow()
                && entry.Request == request;
        }
    }
}
