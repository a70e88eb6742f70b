namespace FreshBooksConnect.Consent;

/// <summary>
/// A pending consent, stored server-side under the hash of its <c>state</c> (the state itself is never stored).
/// <see cref="BrowserBindingHash"/> ties it to the cookie set in the browser that started it.
/// </summary>
public sealed record ConsentState
{
    public required string StateHash { get; init; }

    public required string BrowserBindingHash { get; init; }

    public string? TenantId { get; init; }

    /// <summary>The tenant's name the link carried, for the page that says the connection is made.</summary>
    public string? TenantName { get; init; }

    public string? ReturnUrl { get; init; }

    /// <summary>The onboarding link this consent came from (its id, never the link itself): a completed consent spends it.</summary>
    public string? LinkId { get; init; }

    /// <summary>When that link expires: a record that it was spent is kept until then.</summary>
    public DateTimeOffset? LinkExpiresAt { get; init; }

    /// <summary>The link allows the connection to change FreshBooks identity (<c>"allowIdentityChange": true</c>).</summary>
    public bool AllowIdentityChange { get; init; }

    /// <summary>
    /// Start sent FreshBooks a PKCE challenge, so the exchange sends its verifier. The verifier itself is not stored: it is
    /// derived from the browser binding, which only the browser's cookie holds.
    /// </summary>
    public bool UsesPkce { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Set once a callback took this state; a state is used once.</summary>
    public DateTimeOffset? ConsumedAt { get; init; }

    /// <summary>The connection the consent completed, for the page a repeated callback shows.</summary>
    public string? ConnectionId { get; init; }

    /// <summary>The stored row's version, opaque: an update succeeds only while the row still has it.</summary>
    public string? Version { get; init; }
}

/// <summary>Stores pending consents. Taking one is guarded by its version, so two callbacks with one state cannot both proceed.</summary>
public interface IConsentStateStore
{
    Task AddAsync(ConsentState state, CancellationToken cancellationToken);

    /// <summary>
    /// The state with hash <paramref name="stateHash"/> that expires at <paramref name="expiresAt"/> (what the state itself says;
    /// null for a state made before issue 17, which carries none); null if there is none.
    /// </summary>
    Task<ConsentState?> FindAsync(string stateHash, DateTimeOffset? expiresAt, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="state"/> if the row still has its version; returns the new version, or null when another callback changed it first.</summary>
    Task<string?> TryUpdateAsync(ConsentState state, CancellationToken cancellationToken);

    /// <summary>Deletes states and link uses that expired before <paramref name="now"/>'s minute began, reading no live one; returns how many.</summary>
    Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
