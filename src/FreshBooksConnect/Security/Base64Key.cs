namespace FreshBooksConnect.Security;

/// <summary>Keys arrive in settings as base64; token encryption and link signing decode them the same way, with their own length rules.</summary>
internal static class Base64Key
{
    public static bool TryDecode(string? value, int minBytes, int maxBytes, out byte[] key)
    {
        key = [];
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        var trimmed = value.Trim();
        var buffer = new byte[(trimmed.Length / 4 * 3) + 3];
        if (!Convert.TryFromBase64String(trimmed, buffer, out var written) || written < minBytes || written > maxBytes)
        {
            return false;
        }

        key = buffer[..written];
        return true;
    }
}
