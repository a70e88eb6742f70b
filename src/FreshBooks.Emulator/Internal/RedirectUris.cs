namespace FreshBooks.Emulator.Internal;

/// <summary>Redirect URI rules: absolute http(s), no query, fragment or user info; matched on scheme, host, port and path.</summary>
internal static class RedirectUris
{
    public static bool TryNormalize(string? raw, out string normalized)
    {
        normalized = "";
        if (string.IsNullOrEmpty(raw)
            || raw.Contains('?', StringComparison.Ordinal)
            || raw.Contains('#', StringComparison.Ordinal)
            || !Uri.TryCreate(raw, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.UserInfo.Length > 0)
        {
            return false;
        }

        normalized = $"{uri.Scheme}://{uri.IdnHost.ToLowerInvariant()}:{uri.Port}{uri.AbsolutePath}";
        return true;
    }

    public static string Origin(string redirectUri) =>
        Uri.TryCreate(redirectUri, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Authority) : "";
}
