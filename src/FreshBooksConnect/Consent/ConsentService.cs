using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Consent;

/// <summary>
/// Start and Callback: creates single-use, browser-bound consent states, sends the customer to FreshBooks, and on the way
/// back exchanges the code, finds out who connected and stores the connection.
/// </summary>
public sealed partial class ConsentService(
    IConsentStateStore states,
    ILinkUseStore linkUses,
    IConnectionStore connections,
    IFreshBooksClient freshBooks,
    OnboardingLinks links,
    RenewalSchedule schedule,
    StorageRetries retries,
    RenewalMetrics metrics,
    TimeProvider time,
    IOptions<OnboardingOptions> onboarding,
    IOptions<FreshBooksOptions> freshBooksOptions,
    ILogger<ConsentService> logger)
{
    private const string AnonymousPrefix = "fb-";
    private const int MaxCodeLength = 512;
    private const int MaxErrorLength = 200;
    private const int MaxRereads = 4;

    /// <summary>How long a callback may hold a link it claimed: longer than the code exchange, users/me and the save take together.</summary>
    private static readonly TimeSpan LinkClaimLifetime = TimeSpan.FromMinutes(10);

    private readonly OnboardingOptions _onboarding = onboarding.Value;

    /// <summary>
    /// The customer opened the link. With the confirm page on (<c>Onboarding__ConfirmPage</c>), a link that would start a consent
    /// gets <see cref="StartOutcome.Confirm"/> and nothing is written; off, the consent starts at once.
    /// </summary>
    public async Task<StartResult> StartAsync(string? linkToken, CancellationToken cancellationToken)
    {
        using var span = ConnectTelemetry.StartSpan(ConnectTelemetry.ConsentStartSpan);
        var result = await GuardAsync(
            async () =>
            {
                var (claims, refusal) = await CheckLinkAsync(linkToken, cancellationToken).ConfigureAwait(false);
                return refusal ?? (_onboarding.ConfirmPage ? Confirm(claims) : await BeginAsync(claims, cancellationToken).ConfigureAwait(false));
            }).ConfigureAwait(false);
        span.SetOutcome(result.Outcome);
        return result;
    }

    /// <summary>
    /// The customer pressed the confirm page's button: the consent starts if the request came from that page in this browser
    /// (<paramref name="request"/>'s confirmation equals the cookie the page set) and the link still holds.
    /// </summary>
    public async Task<StartResult> ContinueAsync(ContinueRequest request, CancellationToken cancellationToken)
    {
        using var span = ConnectTelemetry.StartSpan(ConnectTelemetry.ConsentStartSpan);
        StartResult result;
        if (!request.FromThisSite || !IsConfirmed(request, out var confirmCookie))
        {
            // Checked before the link: a page of another site learns nothing about a link it sends here.
            Log.StartNotConfirmed(logger);
            result = new StartResult(StartOutcome.NotConfirmed);
        }
        else
        {
            result = await GuardAsync(
                async () =>
                {
                    var (claims, refusal) = await CheckLinkAsync(request.LinkToken, cancellationToken).ConfigureAwait(false);
                    return refusal ?? await BeginAsync(claims, cancellationToken).ConfigureAwait(false);
                }).ConfigureAwait(false);
            // The page's cookie has done its work once the consent started; a refused link leaves the page as it was.
            result = result.Outcome == StartOutcome.Redirect ? result with { CookieToClear = confirmCookie } : result;
        }

        span.SetOutcome(result.Outcome);
        return result;
    }

    private async Task<StartResult> GuardAsync(Func<Task<StartResult>> start)
    {
        try
        {
            return await start().ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            Log.ConsentStorageUnavailable(logger, ex.Status);
            return new StartResult(StartOutcome.Unavailable);
        }
    }

    public async Task<CallbackResult> CompleteAsync(CallbackRequest request, CancellationToken cancellationToken)
    {
        using var span = ConnectTelemetry.StartSpan(ConnectTelemetry.ConsentCallbackSpan);
        CallbackResult result;
        try
        {
            result = await FinishAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            // Nothing was exchanged yet (failures after the exchange are handled where the grant is).
            Log.ConsentStorageUnavailable(logger, ex.Status);
            result = new CallbackResult(CallbackOutcome.Unavailable);
        }

        ConnectTelemetry.TagConnection(result.ConnectionId);
        span.SetOutcome(result.Outcome);
        metrics.RecordConsent(result.Outcome);
        return result;
    }

    /// <summary>The link's claims (null without a link, where anonymous onboarding is allowed), or the refusal to answer with.</summary>
    private async Task<(OnboardingLinkClaims? Claims, StartResult? Refusal)> CheckLinkAsync(string? linkToken, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(linkToken))
        {
            return _onboarding.AllowAnonymous ? (null, null) : (null, new StartResult(StartOutcome.LinkRequired));
        }

        var validation = links.Validate(linkToken);
        switch (validation.Outcome)
        {
            case LinkValidationOutcome.Expired:
                Log.LinkRefused(logger, validation.Outcome);
                return (null, new StartResult(StartOutcome.LinkExpired));
            case LinkValidationOutcome.Malformed or LinkValidationOutcome.Forged or LinkValidationOutcome.ReturnUrlNotAllowed:
                Log.LinkRefused(logger, validation.Outcome);
                return (null, new StartResult(StartOutcome.LinkInvalid));
        }

        var claims = validation.Claims!;

        // A consent that completed spent the link: whoever opens it again is told so, and nothing starts.
        if (await linkUses.IsSpentAsync(claims.LinkId, claims.ExpiresAt, cancellationToken).ConfigureAwait(false))
        {
            Log.LinkAlreadyUsed(logger, claims.ConnectionId);
            return (null, new StartResult(StartOutcome.LinkUsed, ReturnUrl: claims.ReturnUrl));
        }

        return (claims, null);
    }

    /// <summary>
    /// The confirm page's answer: a random value the page's form carries and a cookie named after it holds. A page of another
    /// site can make the browser post the form, but cannot read the value, nor set the cookie.
    /// </summary>
    private StartResult Confirm(OnboardingLinkClaims? claims)
    {
        var confirmation = RandomToken();
        var lifetime = claims is null ? _onboarding.StateLifetime : claims.ExpiresAt - time.GetUtcNow();
        return new StartResult(
            StartOutcome.Confirm,
            Binding: new BrowserBinding(ConfirmCookieName(confirmation), confirmation, lifetime, SecureCookies),
            Tenant: TenantLabel.For(claims?.TenantId, claims?.TenantName));
    }

    private bool IsConfirmed(ContinueRequest request, out string? cookieName)
    {
        cookieName = null;
        if (request.Confirmation is not { Length: 43 } || !ConfirmationPattern().IsMatch(request.Confirmation))
        {
            return false;
        }

        cookieName = ConfirmCookieName(request.Confirmation!);
        var cookie = request.ReadCookie(cookieName);
        return cookie is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(cookie), Encoding.ASCII.GetBytes(request.Confirmation!));
    }

    private async Task<StartResult> BeginAsync(OnboardingLinkClaims? claims, CancellationToken cancellationToken)
    {
        var usePkce = freshBooksOptions.Value.UsePkce;
        var now = time.GetUtcNow();
        var expiresAt = ConsentStateToken.ToSeconds(now + _onboarding.StateLifetime);
        var state = ConsentStateToken.Create(expiresAt);
        var binding = RandomToken();
        var stateHash = Hash(state);
        await states.AddAsync(
            new ConsentState
            {
                StateHash = stateHash,
                BrowserBindingHash = Hash(binding),
                TenantId = claims?.TenantId,
                TenantName = claims?.TenantName,
                ReturnUrl = claims?.ReturnUrl,
                LinkId = claims?.LinkId,
                LinkExpiresAt = claims?.ExpiresAt,
                AllowIdentityChange = claims?.AllowIdentityChange ?? false,
                UsesPkce = usePkce,
                CreatedAt = now,
                ExpiresAt = expiresAt,
            },
            cancellationToken).ConfigureAwait(false);

        ConnectTelemetry.TagConnection(claims?.ConnectionId);
        Log.ConsentStarted(logger, claims?.ConnectionId);
        var consentUrl = freshBooks.BuildAuthorizeUrl(state, usePkce ? CodeVerifier(binding) : null);
        return new StartResult(StartOutcome.Redirect, consentUrl, new BrowserBinding(CookieName(stateHash), binding, _onboarding.StateLifetime, SecureCookies));
    }

    private async Task<CallbackResult> FinishAsync(CallbackRequest request, CancellationToken cancellationToken)
    {
        // Everything is checked before anything is written or FreshBooks is called.
        if (!ConsentStateToken.TryRead(request.State, out var stateExpiresAt)
            || (request.Error is null && !IsWellFormedCode(request.Code))
            || (request.Error is not null && (request.Error.Length > MaxErrorLength || request.Code is not null || !IsErrorText(request.Error)))
            || (request.ErrorDescription is not null && !IsErrorText(request.ErrorDescription)))
        {
            return new CallbackResult(CallbackOutcome.InvalidRequest);
        }

        var stateHash = Hash(request.State!);
        var pending = await states.FindAsync(stateHash, stateExpiresAt, cancellationToken).ConfigureAwait(false);
        if (pending is null)
        {
            // The browser is shown the page of a known state without its cookie: an unknown state tells nothing about the others.
            return new CallbackResult(CallbackOutcome.UnknownState);
        }

        // The cookie comes before anything the state could tell: whoever holds only the callback's address (history, a log)
        // must not learn that the consent completed, or expired, nor where it returns to.
        var cookieName = CookieName(stateHash);
        var cookie = request.ReadCookie(cookieName);
        if (cookie is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(cookie)), Encoding.ASCII.GetBytes(pending.BrowserBindingHash)))
        {
            Log.BrowserMismatch(logger);
            return new CallbackResult(CallbackOutcome.BrowserMismatch);
        }

        // Checked again before any page links to it: the allow-list may have narrowed since the link was signed.
        if (pending.ReturnUrl is not null && !links.IsAllowedReturnUrl(pending.ReturnUrl))
        {
            pending = pending with { ReturnUrl = null };
        }

        if (pending.ConsumedAt is not null)
        {
            return new CallbackResult(CallbackOutcome.AlreadyUsed, ReturnUrl: pending.ReturnUrl, ConnectionId: pending.ConnectionId);
        }

        if (pending.ExpiresAt <= time.GetUtcNow())
        {
            return new CallbackResult(CallbackOutcome.ExpiredState, ReturnUrl: pending.ReturnUrl);
        }

        // Take the state before calling FreshBooks: of two callbacks with it, only one may spend the code.
        var consumed = pending with { ConsumedAt = time.GetUtcNow() };
        if (await states.TryUpdateAsync(consumed, cancellationToken).ConfigureAwait(false) is not { } consumedVersion)
        {
            return new CallbackResult(CallbackOutcome.AlreadyUsed, ReturnUrl: pending.ReturnUrl);
        }

        if (request.Error is not null)
        {
            var declined = request.Error == "access_denied";
            Log.ConsentDeclined(logger, request.Error);
            return new CallbackResult(declined ? CallbackOutcome.Declined : CallbackOutcome.ConsentFailed, ReturnUrl: pending.ReturnUrl, Error: request.Error);
        }

        // The link is claimed before the code is spent: of two consents through one link, one completes; the other's code is
        // never exchanged. Whatever stops this consent short of a stored connection gives the link back.
        if (pending.LinkId is { } linkId)
        {
            var claim = await linkUses.TryClaimAsync(linkId, stateHash, LinkExpiryOf(pending), time.GetUtcNow(), LinkClaimLifetime, cancellationToken).ConfigureAwait(false);
            if (claim != LinkClaimOutcome.Claimed)
            {
                var tenantConnection = pending.TenantId is { } t ? OnboardingLinks.ConnectionIdFor(t) : null;
                Log.LinkAlreadyUsed(logger, tenantConnection);
                return new CallbackResult(CallbackOutcome.LinkUsed, ReturnUrl: pending.ReturnUrl);
            }
        }

        var completed = false;
        try
        {
            var codeVerifier = pending.UsesPkce ? CodeVerifier(cookie) : null;
            var result = await ExchangeAndStoreAsync(request, codeVerifier, pending, consumed, consumedVersion).ConfigureAwait(false);
            completed = result.Outcome == CallbackOutcome.Connected;
            return result;
        }
        finally
        {
            if (!completed && pending.LinkId is { } unspent)
            {
                await ReleaseLinkAsync(unspent, LinkExpiryOf(pending), stateHash).ConfigureAwait(false);
            }
        }
    }

    private async Task ReleaseLinkAsync(string linkId, DateTimeOffset linkExpiresAt, string stateHash)
    {
        try
        {
            await linkUses.ReleaseAsync(linkId, linkExpiresAt, stateHash, CancellationToken.None).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            // The claim lapses by itself after LinkClaimLifetime; until then the link waits.
            Log.LinkNotReleased(logger, ex.Status);
        }
    }

    private async Task<CallbackResult> ExchangeAndStoreAsync(CallbackRequest request, string? codeVerifier, ConsentState pending, ConsentState consumed, string consumedVersion)
    {
        // From here on the browser's cancellation no longer applies (each FreshBooks call has its own time-out): once the code is
        // exchanged, FreshBooks holds a live grant that must end up stored or revoked, whether or not the browser still waits.
        var exchange = await freshBooks.ExchangeCodeAsync(request.Code!, codeVerifier, CancellationToken.None).ConfigureAwait(false);
        if (!exchange.IsSuccess)
        {
            Log.CodeExchangeFailed(logger, exchange.Outcome, exchange.Error);
            return new CallbackResult(ExchangeFailure(exchange.Outcome), ReturnUrl: pending.ReturnUrl);
        }

        var grant = exchange.Value;
        var identity = await freshBooks.GetIdentityAsync(grant.AccessToken, CancellationToken.None).ConfigureAwait(false);
        if (!identity.IsSuccess)
        {
            // Nobody will store this grant: give it back rather than leave a live token behind.
            await freshBooks.RevokeAsync(grant.RefreshToken, CancellationToken.None).ConfigureAwait(false);
            Log.IdentityLookupFailed(logger, identity.Outcome, identity.Error);
            return new CallbackResult(CallbackOutcome.FreshBooksUnavailable, ReturnUrl: pending.ReturnUrl);
        }

        var connectionId = pending.TenantId is { } tenant ? OnboardingLinks.ConnectionIdFor(tenant) : AnonymousPrefix + identity.Value.Id;
        Connection? connection;
        var replaced = new StrongBox<Connection?>();
        try
        {
            connection = await retries.WhileWaiting.ExecuteAsync(
                async _ => await StoreConnectionAsync(connectionId, pending.TenantId, identity.Value, grant, pending.AllowIdentityChange, replaced).ConfigureAwait(false),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            // The grant can't be stored now, and a grant nobody stores must not stay live: revoking needs no storage.
            await freshBooks.RevokeAsync(grant.RefreshToken, CancellationToken.None).ConfigureAwait(false);
            Log.ConnectionNotSaved(logger, connectionId, ex.Status);
            return new CallbackResult(CallbackOutcome.Unavailable, ReturnUrl: pending.ReturnUrl);
        }

        if (connection is null)
        {
            // Another FreshBooks identity than the connection's, through a link that does not allow it: nothing was written,
            // and the grant nobody will store is given back.
            await freshBooks.RevokeAsync(grant.RefreshToken, CancellationToken.None).ConfigureAwait(false);
            Log.IdentityChangeRefused(logger, connectionId);
            return new CallbackResult(CallbackOutcome.IdentityChangeRefused, ReturnUrl: pending.ReturnUrl, ConnectionId: connectionId);
        }

        // The connection is stored: what follows is bookkeeping, and never turns a stored connection into an error page.
        try
        {
            await states.TryUpdateAsync(consumed with { ConnectionId = connectionId, Version = consumedVersion }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (StorageUnavailableException ex)
        {
            Log.ConsentStateNotUpdated(logger, connectionId, ex.Status);
        }

        if (pending.LinkId is { } linkId)
        {
            try
            {
                var spent = await retries.WhileWaiting.ExecuteAsync(
                    async _ => await linkUses.MarkSpentAsync(linkId, LinkExpiryOf(pending), pending.StateHash, time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false),
                    CancellationToken.None).ConfigureAwait(false);
                if (!spent)
                {
                    Log.LinkNotSpent(logger, connectionId, 0);
                }
            }
            catch (StorageUnavailableException ex)
            {
                Log.LinkNotSpent(logger, connectionId, ex.Status);
            }
        }

        Log.Connected(logger, connectionId, identity.Value.Businesses.Count);
        return new CallbackResult(CallbackOutcome.Connected, connection, pending.ReturnUrl, ConnectionId: connectionId, Tenant: TenantLabel.For(pending.TenantId, pending.TenantName));
    }

    /// <summary>
    /// Creates the connection or, for a returning identity or tenant, replaces its grant under the row's version (re-reading on a
    /// conflict). Safe to run again after an attempt whose outcome storage never told: a row that already holds this grant is
    /// this consent's own write, and the grant it replaced (<paramref name="replaced"/>, kept across runs) is the one revoked, only
    /// once the new one is stored. Null, with nothing written, when the connection belongs to another identity and
    /// <paramref name="allowIdentityChange"/> is false.
    /// </summary>
    private async Task<Connection?> StoreConnectionAsync(
        string connectionId, string? tenantId, FreshBooksIdentity identity, TokenGrant grant, bool allowIdentityChange, StrongBox<Connection?> replaced)
    {
        var cancellationToken = CancellationToken.None;
        for (var attempt = 1; ; attempt++)
        {
            var now = time.GetUtcNow();
            var existing = await connections.GetAsync(connectionId, cancellationToken).ConfigureAwait(false);
            if (existing is not null && existing.RefreshToken == grant.RefreshToken)
            {
                // An earlier attempt landed though its answer never came.
                await RevokeReplacedAsync(replaced.Value, grant).ConfigureAwait(false);
                return existing;
            }

            // A connection stays with the FreshBooks identity that made it unless its link says it may change.
            if (existing is not null && existing.Identity.Id != identity.Id && !allowIdentityChange)
            {
                return null;
            }

            replaced.Value = existing;
            var write = await connections.WriteAsync(
                Connection.Consented(connectionId, tenantId, identity, grant, now, schedule.NextRenewal(grant.AccessTokenExpiresAt, now), existing),
                cancellationToken).ConfigureAwait(false);
            if (write.Written)
            {
                await RevokeReplacedAsync(existing, grant).ConfigureAwait(false);
                return write.Stored;
            }

            if (attempt >= MaxRereads)
            {
                throw new StorageUnavailableException($"Connection '{connectionId}' kept changing while a new consent was saved.");
            }

            Log.ConnectionSaveConflict(logger, connectionId, attempt);
        }
    }

    /// <summary>
    /// The grant a consent replaced is used by no one any more, whatever the connection's status was: a connection that needed
    /// a new consent may hold a grant whose revoke failed then, or whose newest pair never reached us.
    /// </summary>
    private async Task RevokeReplacedAsync(Connection? replaced, TokenGrant grant)
    {
        if (replaced is { TokensReadable: true } && replaced.RefreshToken != grant.RefreshToken)
        {
            await freshBooks.RevokeAsync(replaced.RefreshToken, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static CallbackOutcome ExchangeFailure(FreshBooksOutcome outcome) => outcome switch
    {
        FreshBooksOutcome.InvalidGrant => CallbackOutcome.CodeRejected,
        FreshBooksOutcome.InvalidClient or FreshBooksOutcome.Rejected or FreshBooksOutcome.Forbidden or FreshBooksOutcome.Unauthenticated => CallbackOutcome.AppRejected,
        _ => CallbackOutcome.FreshBooksUnavailable,
    };

    /// <summary>Cookies are <c>__Host-</c> and Secure when the app is served over https; plain only for http on localhost.</summary>
    private bool SecureCookies => freshBooksOptions.Value.RedirectUri?.Scheme == Uri.UriSchemeHttps;

    private string CookieName(string stateHash) => (SecureCookies ? "__Host-fbc-" : "fbc-") + stateHash[..16];

    /// <summary>Named after the confirmation it holds, so a page opened in two tabs keeps one cookie for each.</summary>
    private string ConfirmCookieName(string confirmation) => (SecureCookies ? "__Host-fbc-confirm-" : "fbc-confirm-") + Hash(confirmation)[..16];

    internal static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    private static string RandomToken() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// A consent's PKCE code_verifier (RFC 7636: 43 unreserved characters, 256 bits), derived from its browser binding instead of
    /// stored. The consent-state row keeps only the binding's SHA-256, so a reader of the table can't compute it, nor can whoever
    /// holds a leaked code and state: only a callback that carries the cookie of the browser that started the consent. A stolen
    /// code redeemed through the thief's own consent goes to FreshBooks with the thief's verifier, and is refused.
    /// </summary>
    private static string CodeVerifier(string binding) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(binding), "FreshBooks Connect PKCE code_verifier"u8));

    /// <summary>The expiry a consent's link use is kept under: the link's.</summary>
    private static DateTimeOffset LinkExpiryOf(ConsentState pending) => pending.LinkExpiresAt ?? pending.ExpiresAt;

    /// <summary>
    /// RFC 6749 4.1.2.1: <c>error</c> and <c>error_description</c> are %x20-21 / %x23-5B / %x5D-7E. Anything else (CR/LF above
    /// all, which would forge log lines) is not FreshBooks talking, and is refused before it is logged or shown.
    /// </summary>
    private static bool IsErrorText(string value) => value.All(c => c is >= ' ' and <= '~' and not '"' and not '\\');

    private static bool IsWellFormedCode(string? code) => code is { Length: > 0 and <= MaxCodeLength } && CodePattern().IsMatch(code);

    [GeneratedRegex("^[A-Za-z0-9._~+/=-]+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex CodePattern();

    /// <summary>What <see cref="RandomToken"/> makes: 32 random bytes in base64url.</summary>
    [GeneratedRegex("^[A-Za-z0-9_-]{43}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ConfirmationPattern();
}
