using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Security;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Consent;

public enum LinkValidationOutcome
{
    Valid,
    Malformed,
    Forged,
    Expired,

    /// <summary>Signed, but its return URL is not (or no longer) under <c>Onboarding__AllowedReturnUrls</c>.</summary>
    ReturnUrlNotAllowed,
}

/// <summary>
/// What a valid onboarding link says: its id (what a consent spends), whose connection it makes and the tenant's name as the
/// customer knows it, where to send the customer after, and whether the connection may change FreshBooks identity.
/// </summary>
public sealed record OnboardingLinkClaims(
    string LinkId,
    string TenantId,
    string? ReturnUrl,
    bool AllowIdentityChange,
    DateTimeOffset ExpiresAt,
    string? TenantName = null)
{
    public string ConnectionId => OnboardingLinks.ConnectionIdFor(TenantId);
}

public sealed record LinkValidationResult(LinkValidationOutcome Outcome, OnboardingLinkClaims? Claims);

/// <summary>What the SaaS backend asks a link for.</summary>
public sealed record LinkRequest(string? TenantId, string? ReturnUrl = null, bool AllowIdentityChange = false, string? TenantName = null);

public enum LinkCreationOutcome
{
    Created,
    InvalidTenant,

    /// <summary>The tenant's name is empty, longer than <see cref="OnboardingLinks.MaxTenantNameLength"/> or holds control or formatting characters.</summary>
    InvalidTenantName,
    ReturnUrlNotAllowed,

    /// <summary>The link would be longer than the <see cref="OnboardingLinks.MaxTokenLength"/> characters Start reads.</summary>
    TooLong,
}

public sealed record LinkCreationResult(LinkCreationOutcome Outcome, Uri? Url, string? ConnectionId, DateTimeOffset? ExpiresAt);

/// <summary>
/// Signed, expiring onboarding links: <c>/api/connect?link={base64url(claims)}.{base64url(HMAC-SHA256)}</c>. The SaaS backend
/// asks for one per tenant; the connection it makes is that tenant's. Each link has a random id, so a consent can spend it.
/// </summary>
public sealed partial class OnboardingLinks(IOptions<OnboardingOptions> options, IOptions<FreshBooksOptions> freshBooks, TimeProvider time)
{
    /// <summary>The longest link token Start will look at; anything longer is refused before any work.</summary>
    public const int MaxTokenLength = 2048;

    /// <summary>The longest tenant name a link may carry, in characters: a name for a page's sentence, not a description.</summary>
    public const int MaxTenantNameLength = 100;

    private const string TenantPrefix = "t-";
    private const int MaxReturnUrlLength = 2000;

    /// <summary>How far another instance's clock may be ahead of this one's when it signed a link.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private readonly OnboardingOptions _options = options.Value;

    // Decoded once, not per link; the options validator has already refused a key that does not decode.
    private readonly byte[] _signingKey = TryDecodeKey(options.Value.SigningKey, out var key) ? key : [];

    public static bool IsValidTenantId(string? tenantId) => tenantId is not null && TenantIdPattern().IsMatch(tenantId);

    public static string ConnectionIdFor(string tenantId) => TenantPrefix + tenantId;

    /// <summary>
    /// A tenant name is shown to the customer as the account they connect to, so it must read as what it is: 1 to
    /// <see cref="MaxTenantNameLength"/> characters, not only spaces, with no control characters (a line break), no formatting
    /// characters (a right-to-left override would show another name than the one signed) and no lone surrogates.
    /// </summary>
    public static bool IsValidTenantName(string? tenantName)
    {
        if (tenantName is null || tenantName.Length > MaxTenantNameLength || string.IsNullOrWhiteSpace(tenantName))
        {
            return false;
        }

        for (var i = 0; i < tenantName.Length; i++)
        {
            if (char.IsSurrogatePair(tenantName, i))
            {
                i++;
                continue;
            }

            if (char.IsSurrogate(tenantName[i])
                || char.GetUnicodeCategory(tenantName[i]) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                return false;
            }
        }

        return true;
    }

    public LinkCreationResult Create(LinkRequest request)
    {
        if (!IsValidTenantId(request.TenantId))
        {
            return new LinkCreationResult(LinkCreationOutcome.InvalidTenant, null, null, null);
        }

        // Spaces around a name are how it was typed, not part of it.
        var tenantName = request.TenantName?.Trim();
        if (request.TenantName is not null && !IsValidTenantName(tenantName))
        {
            return new LinkCreationResult(LinkCreationOutcome.InvalidTenantName, null, null, null);
        }

        if (request.ReturnUrl is not null && !IsAllowedReturnUrl(request.ReturnUrl))
        {
            return new LinkCreationResult(LinkCreationOutcome.ReturnUrlNotAllowed, null, null, null);
        }

        var expiresAt = time.GetUtcNow() + _options.LinkLifetime;
        var claims = new LinkClaims(
            request.TenantId!,
            request.ReturnUrl,
            expiresAt.ToUnixTimeSeconds(),
            Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)),
            request.AllowIdentityChange ? true : null,
            tenantName);
        var payload = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims, LinkJson.Default.LinkClaims));
        var token = $"{payload}.{Sign(payload)}";
        if (token.Length > MaxTokenLength)
        {
            return new LinkCreationResult(LinkCreationOutcome.TooLong, null, null, null);
        }

        var url = new UriBuilder(new Uri(freshBooks.Value.RedirectUri!, "connect")) { Query = "link=" + token }.Uri;
        return new LinkCreationResult(LinkCreationOutcome.Created, url, ConnectionIdFor(request.TenantId!), DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt));
    }

    public LinkValidationResult Validate(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength || token.Split('.') is not [var payload, var signature])
        {
            return new LinkValidationResult(LinkValidationOutcome.Malformed, null);
        }

        byte[] given;
        try
        {
            given = Base64Url.DecodeFromChars(signature);
        }
        catch (FormatException)
        {
            return new LinkValidationResult(LinkValidationOutcome.Malformed, null);
        }

        if (!CryptographicOperations.FixedTimeEquals(given, Mac(payload)))
        {
            return new LinkValidationResult(LinkValidationOutcome.Forged, null);
        }

        LinkClaims? claims;
        try
        {
            claims = JsonSerializer.Deserialize(Base64Url.DecodeFromChars(payload), LinkJson.Default.LinkClaims);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return new LinkValidationResult(LinkValidationOutcome.Malformed, null);
        }

        // Signed by us, so well-formed unless the key was shared with something else (or signed what an older version allowed):
        // checked anyway, an expiry included, so nothing a signature covers can turn into a 500.
        var now = time.GetUtcNow();
        if (claims is null
            || !IsValidTenantId(claims.TenantId)
            || (claims.LinkId is not null && !LinkIdPattern().IsMatch(claims.LinkId))
            || (claims.TenantName is not null && !IsValidTenantName(claims.TenantName))
            || claims.ExpiresAt < 0
            || claims.ExpiresAt > (now + OnboardingOptions.MaxLinkLifetime + ClockSkew).ToUnixTimeSeconds())
        {
            return new LinkValidationResult(LinkValidationOutcome.Malformed, null);
        }

        if (claims.ExpiresAt <= now.ToUnixTimeSeconds())
        {
            return new LinkValidationResult(LinkValidationOutcome.Expired, null);
        }

        if (claims.ReturnUrl is not null && !IsAllowedReturnUrl(claims.ReturnUrl))
        {
            return new LinkValidationResult(LinkValidationOutcome.ReturnUrlNotAllowed, null);
        }

        // Links signed before links had ids are spent by the hash of what was signed: each still has one id of its own.
        var linkId = claims.LinkId ?? Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(payload)).AsSpan(0, 16));
        return new LinkValidationResult(
            LinkValidationOutcome.Valid,
            new OnboardingLinkClaims(linkId, claims.TenantId, claims.ReturnUrl, claims.AllowIdentityChange == true, DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt), claims.TenantName));
    }

    /// <summary>
    /// A return URL is allowed when it is http(s), has no user info, and sits under one of <c>Onboarding__AllowedReturnUrls</c>: same
    /// scheme, host and port, and the prefix's path segments first, whole. A segment that decodes to a slash, a backslash, a dot
    /// segment or a control character is refused outright: a server behind the URL could read it as a step up the path.
    /// </summary>
    public bool IsAllowedReturnUrl(string? returnUrl)
    {
        if (returnUrl is null
            || returnUrl.Length > MaxReturnUrlLength
            || returnUrl.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c == '\\')
            || !Uri.TryCreate(returnUrl, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.UserInfo.Length > 0
            || !HasPlainSegments(uri))
        {
            return false;
        }

        return _options.ReturnUrlPrefixes.Any(prefix =>
            Uri.Compare(prefix, uri, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) == 0
            && IsUnder(uri.AbsolutePath, prefix.AbsolutePath));
    }

    internal static bool TryDecodeKey(string? value, out byte[] key) => Base64Key.TryDecode(value, 32, int.MaxValue, out key);

    /// <summary>Whole segments: <c>/settings</c> and <c>/settings/</c> admit <c>/settings</c> and <c>/settings/x</c>, never <c>/settingsEVIL</c>.</summary>
    private static bool IsUnder(string path, string prefix)
    {
        var directory = prefix.EndsWith('/') ? prefix : prefix + "/";
        return path.StartsWith(directory, StringComparison.Ordinal) || path + "/" == directory;
    }

    private static bool HasPlainSegments(Uri uri)
    {
        foreach (var segment in uri.AbsolutePath.Split('/'))
        {
            string decoded;
            try
            {
                decoded = Uri.UnescapeDataString(segment);
            }
            catch (UriFormatException)
            {
                return false;
            }

            if (decoded is "." or ".." || decoded.Any(c => c is '/' or '\\' || char.IsControl(c)))
            {
                return false;
            }
        }

        return true;
    }

    private string Sign(string payload) => Base64Url.EncodeToString(Mac(payload));

    private byte[] Mac(string payload) => HMACSHA256.HashData(_signingKey, Encoding.ASCII.GetBytes("onboarding-link.v1." + payload));

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TenantIdPattern();

    [GeneratedRegex("^[A-Za-z0-9_-]{22}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex LinkIdPattern();
}

/// <summary>
/// The signed claims. Links made before links had ids carry only <c>t</c>, <c>r</c> and <c>exp</c>, and still validate (as do
/// links made before links had names, without <c>n</c>); the
/// optional claims are left out when empty, so a link is as short as it can be.
/// </summary>
internal sealed record LinkClaims(
    [property: JsonPropertyName("t")] string TenantId,
    [property: JsonPropertyName("r"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ReturnUrl,
    [property: JsonPropertyName("exp")] long ExpiresAt,
    [property: JsonPropertyName("i"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? LinkId = null,
    [property: JsonPropertyName("ic"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? AllowIdentityChange = null,
    [property: JsonPropertyName("n"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TenantName = null);

[JsonSerializable(typeof(LinkClaims))]
internal sealed partial class LinkJson : JsonSerializerContext;
