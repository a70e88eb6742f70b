namespace FreshBooksConnect.Soak;

/// <summary>What became of a token pair FreshBooks issued, as far as the app could see it.</summary>
internal enum PairFate
{
    /// <summary>The answer reached the app instance.</summary>
    Delivered,

    /// <summary>FreshBooks processed the call and cut the connection (DropAfterRotation).</summary>
    DroppedByFreshBooks,

    /// <summary>A 200 without a usable pair (NotJson, RefreshTokenMissing): the pair exists, the app never saw it.</summary>
    NoUsablePair,

    /// <summary>The soak held FreshBooks' answer and killed the instance that asked: proven lost between FreshBooks and the save.</summary>
    KilledBeforeDelivery,

    /// <summary>The app instance had hung up (its own FreshBooks time-out) by the time FreshBooks' answer came.</summary>
    AppGaveUp,

    /// <summary>
    /// The answer was written just as the instance's FreshBooks time-out ran out: the write lands in the socket's buffer either
    /// way, so only a save shows the instance read it in time.
    /// </summary>
    AnsweredAtTimeOut,
}

/// <summary>One grant (one consent) at FreshBooks and the pairs issued under it, newest last.</summary>
internal sealed class IssuedGrant(int id, string? connectionId, DateTimeOffset createdAt)
{
    public int Id { get; } = id;

    /// <summary>The connection whose onboarding produced the code of this grant.</summary>
    public string? ConnectionId { get; } = connectionId;

    public DateTimeOffset CreatedAt { get; } = createdAt;

    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>"app" or "soak" (the soak revokes grants to make FreshBooks answer invalid_grant).</summary>
    public string? RevokedBy { get; set; }

    public List<IssuedPair> Pairs { get; } = [];

    public IssuedPair Current => Pairs[^1];
}

/// <summary>One pair, with what the soak knows of it (tokens are null where the app never saw them either).</summary>
internal sealed class IssuedPair(IssuedGrant grant, string? accessToken, string? refreshToken, DateTimeOffset issuedAt, int instance, IssuedPair? parent)
{
    public IssuedGrant Grant { get; } = grant;

    public string? AccessToken { get; } = accessToken;

    public string? RefreshToken { get; } = refreshToken;

    public DateTimeOffset IssuedAt { get; } = issuedAt;

    /// <summary>The app instance whose call got it.</summary>
    public int Instance { get; } = instance;

    /// <summary>The pair whose refresh token was spent for this one (null for a code exchange).</summary>
    public IssuedPair? Parent { get; } = parent;

    public PairFate Fate { get; set; } = PairFate.Delivered;

    public DateTimeOffset? DeliveredAt { get; set; }

    /// <summary>The answer's <c>expires_in</c> was missing or absurd: the app assumes 6 hours, longer than the soak's token life.</summary>
    public bool AssumedLifetime { get; set; }

    /// <summary>When its refresh token was spent (FreshBooks issued the next pair).</summary>
    public DateTimeOffset? SpentAt { get; set; }

    /// <summary>When its access token died: a refresh of the grant, or a revoke.</summary>
    public DateTimeOffset? KilledAt { get; set; }

    /// <summary>The pair whose refresh killed this one's access token (null when a revoke did).</summary>
    public IssuedPair? Successor { get; set; }

    /// <summary>The soak saw its refresh token in a stored row, or spent by a later refresh: it was saved.</summary>
    public bool SeenSaved { get; set; }
}

/// <summary>A refresh FreshBooks refused because the refresh token had been spent before.</summary>
internal sealed record Reuse(IssuedPair Pair, DateTimeOffset At, int Instance);

/// <summary>
/// The FreshBooks side of the books: every grant and pair FreshBooks issued, which connection each belongs to, what became of
/// each answer, every spend, kill and revoke. Fed by the <see cref="FreshBooksRelay"/> (all the apps' FreshBooks calls pass
/// through it) and by the soak's own revokes; it mirrors the emulator's rules, and <see cref="LiveGrantCount"/> is checked
/// against the emulator's own count.
/// </summary>
internal sealed class TokenLedger(Func<DateTimeOffset> now)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _codes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _spentCodes = new(StringComparer.Ordinal);
    private readonly List<IssuedGrant> _grants = [];
    private readonly Dictionary<string, IssuedPair> _byRefresh = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IssuedPair> _byAccess = new(StringComparer.Ordinal);
    private readonly List<Reuse> _reuses = [];
    private readonly List<string> _anomalies = [];

    public DateTimeOffset Now => now();

    /// <summary>The soak approved a consent for <paramref name="connectionId"/> and got <paramref name="code"/> back.</summary>
    public void RegisterCode(string code, string connectionId)
    {
        lock (_gate)
        {
            _codes[code] = connectionId;
        }
    }

    /// <summary>A code exchange FreshBooks processed: a new grant and its first pair.</summary>
    public IssuedPair? Exchanged(string code, string? accessToken, string? refreshToken, int instance)
    {
        lock (_gate)
        {
            if (!_spentCodes.Add(code))
            {
                _anomalies.Add($"code {Redacted(code)} exchanged twice");
                return null;
            }

            var grant = new IssuedGrant(_grants.Count + 1, _codes.GetValueOrDefault(code), now());
            _grants.Add(grant);
            return AddPair(grant, accessToken, refreshToken, instance, parent: null);
        }
    }

    /// <summary>
    /// A refresh with <paramref name="refreshToken"/> that FreshBooks processed (it answered a pair, or cut the connection after
    /// processing): mirrors the emulator (spent first, then revoked) and returns the new pair, or null when it was refused.
    /// </summary>
    public IssuedPair? Refreshed(string refreshToken, string? accessToken, string? newRefreshToken, int instance)
    {
        lock (_gate)
        {
            if (!_byRefresh.TryGetValue(refreshToken, out var spent))
            {
                _anomalies.Add($"refresh with a token FreshBooks never issued ({Redacted(refreshToken)})");
                return null;
            }

            if (spent.SpentAt is not null)
            {
                _reuses.Add(new Reuse(spent, now(), instance));
                return null;
            }

            if (spent.Grant.RevokedAt is not null)
            {
                return null;
            }

            var at = now();
            spent.SpentAt = at;
            spent.SeenSaved = true;
            var pair = AddPair(spent.Grant, accessToken, newRefreshToken, instance, spent);
            foreach (var earlier in spent.Grant.Pairs.Where(p => p != pair && p.KilledAt is null))
            {
                earlier.KilledAt = at;
                earlier.Successor = pair;
            }

            return pair;
        }
    }

    /// <summary>FreshBooks refused a refresh with invalid_grant: a reuse when the token was spent before.</summary>
    public void RefreshRefused(string refreshToken, int instance)
    {
        lock (_gate)
        {
            if (_byRefresh.TryGetValue(refreshToken, out var pair) && pair.SpentAt is not null)
            {
                _reuses.Add(new Reuse(pair, now(), instance));
            }
        }
    }

    /// <summary>A revoke FreshBooks took: an access token dies alone, a refresh token (spent or not) revokes its grant.</summary>
    public void Revoked(string token, string by)
    {
        lock (_gate)
        {
            var at = now();
            if (_byAccess.TryGetValue(token, out var access))
            {
                access.KilledAt ??= at;
            }
            else if (_byRefresh.TryGetValue(token, out var refresh) && refresh.Grant.RevokedAt is null)
            {
                refresh.Grant.RevokedAt = at;
                refresh.Grant.RevokedBy = by;
                foreach (var pair in refresh.Grant.Pairs.Where(p => p.KilledAt is null))
                {
                    pair.KilledAt = at;
                }
            }
        }
    }

    public void Delivered(IssuedPair pair)
    {
        lock (_gate)
        {
            pair.DeliveredAt = now();
        }
    }

    public void Lost(IssuedPair pair, PairFate fate)
    {
        lock (_gate)
        {
            pair.Fate = fate;
        }
    }

    /// <summary>A stored row holds this refresh token: its pair was saved.</summary>
    public void SeenInStorage(string refreshToken)
    {
        lock (_gate)
        {
            if (_byRefresh.TryGetValue(refreshToken, out var pair))
            {
                pair.SeenSaved = true;
            }
        }
    }

    /// <summary>The ledger has booked a processed call with this code or refresh token.</summary>
    public bool IsRedeemed(string codeOrRefreshToken)
    {
        lock (_gate)
        {
            return _spentCodes.Contains(codeOrRefreshToken) || _byRefresh.GetValueOrDefault(codeOrRefreshToken)?.SpentAt is not null;
        }
    }

    public IssuedPair? ByAccessToken(string token)
    {
        lock (_gate)
        {
            return _byAccess.GetValueOrDefault(token);
        }
    }

    public IssuedPair? ByRefreshToken(string token)
    {
        lock (_gate)
        {
            return _byRefresh.GetValueOrDefault(token);
        }
    }

    /// <summary>The current refresh token of the connection's newest live grant, to revoke it as a customer or FreshBooks would.</summary>
    public string? AnyRefreshTokenOf(string connectionId)
    {
        lock (_gate)
        {
            return _grants.LastOrDefault(g => g.ConnectionId == connectionId && g.RevokedAt is null)?.Pairs.LastOrDefault(p => p.RefreshToken is not null)?.RefreshToken;
        }
    }

    public int LiveGrantCount
    {
        get
        {
            lock (_gate)
            {
                return _grants.Count(g => g.RevokedAt is null);
            }
        }
    }

    public IReadOnlyList<IssuedGrant> Grants
    {
        get
        {
            lock (_gate)
            {
                return [.. _grants];
            }
        }
    }

    public IReadOnlyList<Reuse> Reuses
    {
        get
        {
            lock (_gate)
            {
                return [.. _reuses];
            }
        }
    }

    public IReadOnlyList<string> Anomalies
    {
        get
        {
            lock (_gate)
            {
                return [.. _anomalies];
            }
        }
    }

    /// <summary>Every token and code the soak saw: none may appear in a log line.</summary>
    public IReadOnlyList<string> Secrets()
    {
        lock (_gate)
        {
            return [.. _byAccess.Keys, .. _byRefresh.Keys, .. _codes.Keys];
        }
    }

    /// <summary>The first characters of a token, as the emulator's misuse details show them: enough to find it, useless to a reader.</summary>
    public static string Redacted(string? token) => token is null ? "(none)" : token.Length <= 8 ? "(short)" : token[..6] + "…";

    private IssuedPair AddPair(IssuedGrant grant, string? accessToken, string? refreshToken, int instance, IssuedPair? parent)
    {
        var pair = new IssuedPair(grant, accessToken, refreshToken, now(), instance, parent);
        grant.Pairs.Add(pair);
        if (accessToken is not null)
        {
            _byAccess[accessToken] = pair;
        }

        if (refreshToken is not null)
        {
            _byRefresh[refreshToken] = pair;
        }

        return pair;
    }
}
