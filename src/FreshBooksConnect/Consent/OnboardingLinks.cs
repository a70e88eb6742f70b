using System.Buffers.Text;
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
}

/// <summary>What a valid onboarding link says: whose connection it makes, and where to send the customer after.</summary>
public sealed record OnboardingLinkClaims(string TenantId, string? ReturnUrl, DateTimeOffset ExpiresAt)
{
    public string ConnectionId => OnboardingLinks.ConnectionIdFor(TenantId);
}

public sealed record LinkValidationResult(LinkValidationOutcome Outcome, OnboardingLinkClaims? Claims);

public enum LinkCreationOutcome
{
    Created,
    InvalidTenant,
    ReturnUrlNotAllowed,
}

public sealed record LinkCreationResult(LinkCreationOutcome Outcome, Uri? Url, string? ConnectionId, DateTimeOffset? ExpiresAt);

/// <summary>
/// Signed, expiring onboarding links: <c>/api/connect?link={base64url(claims)}.{base64url(HMAC-SHA256)}</c>. The SaaS backend
/// asks for one per tenant; the connection it makes is that tenant's.
/// </summary>
public sealed partial class OnboardingLinks(IOptions<OnboardingOptions> options, IOptions<FreshBooksOptions> freshBooks, TimeProvider time)
{
    /// <summary>The longest link token Start will look at; anything longer is refused before any work.</summary>
    public const int MaxTokenLength = 2048;

    private const string TenantPrefix = "t-";
    private readonly OnboardingOptions _options = options.Value;

    // Decoded once, not per link; the options validator has already refused a key that does not decode.
    private readonly byte[] _signingKey = TryDecodeKey(options.Value.SigningKey, out var key) ? key : [];

    public static bool IsValidTenantId(string? tenantId) => tenantId is not null && TenantIdPattern().IsMatch(tenantId);

    public static string ConnectionIdFor(string tenantId) => TenantPrefix + tenantId;

    public LinkCreationResult Create(string? tenantId, string? returnUrl)
    {
        if (!IsValidTenantId(tenantId))
        {
            return new LinkCreationResult(LinkCreationOutcome.InvalidTenant, null, null, null);
        }

        if (returnUrl is not null && !IsAllowedReturnUrl(returnUrl))
        {
            return new LinkCreationResult(LinkCreationOutcome.ReturnUrlNotAllowed, null, null, null);
        }

        var expiresAt = time.GetUtcNow() + _options.LinkLifetime;
        var claims = new LinkClaims(tenantId!, returnUrl, expiresAt.ToUnixTimeSeconds());
        var payload = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims, LinkJson.Default.LinkClaims));
        var token = $"{payload}.{Sign(payload)}";
        var url = new UriBuilder(new Uri(freshBooks.Value.RedirectUri!, "connect")) { Query = "link=" + token }.Uri;
        return new LinkCreationResult(LinkCreationOutcome.Created, url, ConnectionIdFor(tenantId!), DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt));
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

        // Signed by us, so well-formed unless the key was shared with something else; checked anyway.
        if (claims is null || !IsValidTenantId(claims.TenantId))
        {
            return new LinkValidationResult(LinkValidationOutcome.Malformed, null);
        }

        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt);
        return expiresAt <= time.GetUtcNow()
            ? new LinkValidationResult(LinkValidationOutcome.Expired, null)
            : new LinkValidationResult(LinkValidationOutcome.Valid, new OnboardingLinkClaims(claims.TenantId, claims.ReturnUrl, expiresAt));
    }

    /// <summary>A return URL is allowed when it starts with one of the configured prefixes (same scheme, host, port; path below).</summary>
    public bool IsAllowedReturnUrl(string returnUrl)
    {
        if (returnUrl.Length > 2000 || !Uri.TryCreate(returnUrl, UriKind.Absolute, out var uri) || uri.UserInfo.Length > 0)
        {
            return false;
        }

        return _options.ReturnUrlPrefixes.Any(prefix =>
            Uri.Compare(prefix, uri, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0
            && uri.AbsolutePath.StartsWith(prefix.AbsolutePath, StringComparison.Ordinal));
    }

    internal static bool TryDecodeKey(string? value, out byte[] key) => Base64Key.TryDecode(value, 32, int.MaxValue, out key);

    private string Sign(string payload) => Base64Url.EncodeToString(Mac(payload));

    private byte[] Mac(string payload) => HMACSHA256.HashData(_signingKey, Encoding.ASCII.GetBytes("onboarding-link.v1." + payload));

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TenantIdPattern();
}

internal sealed record LinkClaims(
    [property: JsonPropertyName("t")] string TenantId,
    [property: JsonPropertyName("r"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ReturnUrl,
    [property: JsonPropertyName("exp")] long ExpiresAt);

[JsonSerializable(typeof(LinkClaims))]
internal sealed partial class LinkJson : JsonSerializerContext;
