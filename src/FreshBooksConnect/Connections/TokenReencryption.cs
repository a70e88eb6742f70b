using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Connections;

/// <summary>What one re-encryption pass did; rows it left (leased, changed meanwhile) are the next pass's.</summary>
public sealed record ReencryptionPass(string CurrentKeyId, int Rewritten, int Current, int Leased, int Changed, int Unreadable);

/// <summary>How many connections one key id protects; <see cref="Configured"/> false for a key the app no longer has.</summary>
public sealed record TokenKeyCount(string Id, bool Current, bool Configured, long Connections);

/// <summary>Which keys protect the stored tokens: every configured key (zero or more rows) and any key a row names that is not.</summary>
public sealed record TokenKeyUsage(string CurrentKeyId, IReadOnlyList<TokenKeyCount> Keys, long Unreadable);

/// <summary>
/// The second half of a key rotation: rewrites every connection not under the current key (or in an older ciphertext format) through the one write
/// (<see cref="IConnectionStore.WriteAsync"/>, guarded by the row's version, so a renewal's write is never lost), whatever its
/// status. A row under a lease, or whose lease ran out less than <see cref="RenewalOptions.SaveTimeout"/> ago, is left for a
/// later pass: its holder may be saving a new pair. A pass keeps no state, so a stopped one is simply run again.
/// </summary>
public sealed class TokenReencryption(
    IConnectionStore connections, ITokenProtector protector, IOptions<TokenProtectionOptions> keys, IOptions<RenewalOptions> renewal, TimeProvider time, ILogger<TokenReencryption> logger)
{
    private const int PageSize = 200;

    public async Task<ReencryptionPass> RunAsync(CancellationToken cancellationToken)
    {
        var pass = new ReencryptionPass(protector.CurrentKeyId, 0, 0, 0, 0, 0);
        await foreach (var connection in AllAsync(cancellationToken).ConfigureAwait(false))
        {
            var now = time.GetUtcNow();
            pass = connection switch
            {
                { TokensReadable: false } => pass with { Unreadable = pass.Unreadable + 1 },
                { ProtectionCurrent: true } => pass with { Current = pass.Current + 1 },
                { LeaseOwner: not null, LeaseUntil: { } until } when now < until + renewal.Value.SaveTimeout => pass with { Leased = pass.Leased + 1 },
                _ => (await connections.WriteAsync(connection.Reencrypted(now), cancellationToken).ConfigureAwait(false)).Written
                    ? pass with { Rewritten = pass.Rewritten + 1 }
                    : pass with { Changed = pass.Changed + 1 },
            };
        }

        Log.ReencryptionPass(logger, pass.CurrentKeyId, pass.Rewritten, pass.Current, pass.Leased, pass.Changed, pass.Unreadable);
        return pass;
    }

    public async Task<TokenKeyUsage> CountAsync(CancellationToken cancellationToken)
    {
        var counts = keys.Value.Keys.Keys.ToDictionary(id => id, _ => 0L, StringComparer.Ordinal);
        long unreadable = 0;
        await foreach (var connection in AllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!connection.TokensReadable)
            {
                unreadable++;
            }

            if (connection.ProtectedBy is { } keyId)
            {
                counts[keyId] = counts.GetValueOrDefault(keyId) + 1;
            }
        }

        var current = protector.CurrentKeyId;
        return new TokenKeyUsage(
            current,
            [.. counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new TokenKeyCount(c.Key, c.Key == current, keys.Value.Keys.ContainsKey(c.Key), c.Value))],
            unreadable);
    }

    private async IAsyncEnumerable<Connection> AllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? continuation = null;
        do
        {
            var page = await connections.ListAsync(PageSize, continuation, cancellationToken).ConfigureAwait(false);
            foreach (var connection in page?.Connections ?? [])
            {
                yield return connection;
            }

            continuation = page?.ContinuationToken;
        }
        while (continuation is not null);
    }
}
