using System.Globalization;
using System.Text.Json;

namespace FreshBooksConnect.FreshBooks.Internal;

/// <summary>What a token answer says, as far as it could be read.</summary>
/// <param name="ExpiresIn">Null when <c>expires_in</c> is missing or can't be a token's lifetime.</param>
/// <param name="CreatedAt">For a cross-check only: expiry counts from when the answer arrived.</param>
internal sealed record TokenAnswerContent(string AccessToken, string RefreshToken, string Scope, TimeSpan? ExpiresIn, DateTimeOffset? CreatedAt, string? TokenType);

/// <summary>
/// Reads FreshBooks' 200 answers field by field, forgiving what FreshBooks is known to vary (numbers as strings and the reverse,
/// nulls, unknown fields, odd charsets). Never throws: what can't be read is null.
/// </summary>
internal static class FreshBooksAnswers
{
    /// <summary>Longer than any access token FreshBooks documents (12 hours) by a wide margin; more is not a lifetime.</summary>
    private static readonly TimeSpan LongestLifetime = TimeSpan.FromHours(48);

    /// <summary>The token answer, or null when it carries no refresh token (or no access token) at all.</summary>
    public static TokenAnswerContent? ReadToken(byte[] body)
    {
        using var document = Parse(body);
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            return null;
        }

        var access = String(root, "access_token")?.Trim();
        var refresh = String(root, "refresh_token")?.Trim();
        if (string.IsNullOrEmpty(access) || string.IsNullOrEmpty(refresh))
        {
            return null;
        }

        var expiresIn = Number(root, "expires_in") is { } seconds && seconds > 0 && seconds <= LongestLifetime.TotalSeconds
            ? TimeSpan.FromSeconds(Math.Floor(seconds))
            : (TimeSpan?)null;
        return new TokenAnswerContent(access, refresh, String(root, "scope")?.Trim() ?? "", expiresIn, UnixTime(Number(root, "created_at")), String(root, "token_type"));
    }

    /// <summary><c>users/me</c>: the user and every business membership that names a business; null without a user id.</summary>
    public static FreshBooksIdentity? ReadIdentity(byte[] body)
    {
        using var document = Parse(body);
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root
            || !root.TryGetProperty("response", out var user) || user.ValueKind != JsonValueKind.Object
            || Long(user, "id") is not { } id || id <= 0)
        {
            return null;
        }

        var businesses = new List<BusinessMembership>();
        if (user.TryGetProperty("business_memberships", out var memberships) && memberships.ValueKind == JsonValueKind.Array)
        {
            foreach (var membership in memberships.EnumerateArray())
            {
                if (membership.ValueKind == JsonValueKind.Object
                    && membership.TryGetProperty("business", out var business) && business.ValueKind == JsonValueKind.Object
                    && Long(business, "id") is { } businessId)
                {
                    businesses.Add(new BusinessMembership(
                        Long(membership, "id") ?? 0,
                        String(membership, "role"),
                        businessId,
                        String(business, "business_uuid"),
                        String(business, "name"),
                        String(business, "account_id")));
                }
            }
        }

        return new FreshBooksIdentity(id, String(user, "identity_uuid"), String(user, "first_name"), String(user, "last_name"), String(user, "email"), businesses);
    }

    /// <summary>A value FreshBooks sent, safe to log: letters, digits and <c>_-.</c> only, at most 40 of them.</summary>
    public static string Printable(string value) =>
        new(value.Where(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.').Take(40).ToArray());

    private static JsonDocument? Parse(byte[] body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? String(JsonElement element, string name) =>
        !element.TryGetProperty(name, out var value) ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : value.ValueKind == JsonValueKind.Number ? value.GetRawText()
        : null;

    private static double? Number(JsonElement element, string name) =>
        !element.TryGetProperty(name, out var value) ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) ? number
        : value.ValueKind == JsonValueKind.String && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed
        : null;

    private static long? Long(JsonElement element, string name) =>
        Number(element, name) is { } number && number == Math.Floor(number) && number is >= long.MinValue and <= long.MaxValue ? (long)number : null;

    /// <summary>Unix seconds, or milliseconds when the number is too large to be seconds of this era.</summary>
    private static DateTimeOffset? UnixTime(double? value) => value switch
    {
        null or <= 0 => null,
        > 1e11 and < 1e14 => DateTimeOffset.FromUnixTimeMilliseconds((long)value),
        < 1e11 => DateTimeOffset.FromUnixTimeSeconds((long)value),
        _ => null,
    };
}
