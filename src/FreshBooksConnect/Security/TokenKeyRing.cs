using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Security;

/// <summary>
/// AES-256-GCM with a key ring. A stored value reads <c>v2.{keyId}.{base64url(nonce | ciphertext | tag)}</c>; its associated data
/// is the connection id, the column and the token generation, so a value copied to another row, swapped with the row's other
/// token, or put back after a newer pair replaced it fails to decrypt.
/// </summary>
/// <remarks>
/// Values written before issue 17 read <c>v1.{keyId}.…</c>, with the connection id alone as associated data. They still decrypt,
/// and every write of the row (a renewal, a consent, the re-encryption pass) writes <c>v2</c>.
/// </remarks>
internal sealed class TokenKeyRing : ITokenProtector
{
    private const string Version = "v2";
    private const string ConnectionOnlyVersion = "v1";
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly string _currentKeyId;
    private readonly string _currentPrefix;
    private readonly Dictionary<string, byte[]> _keys;

    public TokenKeyRing(IOptions<TokenProtectionOptions> options)
    {
        var value = options.Value;
        _currentKeyId = value.CurrentKeyId;
        _currentPrefix = $"{Version}.{_currentKeyId}.";
        _keys = value.Keys.ToDictionary(k => k.Key, k => TryDecodeKey(k.Value, out var key) ? key : throw new InvalidOperationException($"TokenProtection__Keys__{k.Key} is not a 32-byte base64 key."), StringComparer.Ordinal);
    }

    public string CurrentKeyId => _currentKeyId;

    public string? KeyIdOf(string protectedValue) =>
        protectedValue.Split('.') is [Version or ConnectionOnlyVersion, var keyId, _] && keyId.Length > 0 ? keyId : null;

    public bool IsCurrent(string protectedValue) => protectedValue.StartsWith(_currentPrefix, StringComparison.Ordinal);

    public string Protect(string token, TokenBinding binding)
    {
        var plaintext = Encoding.UTF8.GetBytes(token);
        var payload = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = payload.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_keys[_currentKeyId], TagSize);
        aes.Encrypt(nonce, plaintext, payload.AsSpan(NonceSize, plaintext.Length), payload.AsSpan(NonceSize + plaintext.Length), AssociatedData(binding));
        return _currentPrefix + Base64Url.EncodeToString(payload);
    }

    public bool TryUnprotect(string protectedValue, TokenBinding binding, out string token)
    {
        token = "";
        if (KeyIdOf(protectedValue) is not { } keyId || !_keys.TryGetValue(keyId, out var key))
        {
            return false;
        }

        byte[] payload;
        try
        {
            payload = Base64Url.DecodeFromChars(protectedValue.AsSpan(protectedValue.LastIndexOf('.') + 1));
        }
        catch (FormatException)
        {
            return false;
        }

        if (payload.Length < NonceSize + TagSize)
        {
            return false;
        }

        var associatedData = protectedValue.StartsWith(ConnectionOnlyVersion + ".", StringComparison.Ordinal)
            ? ConnectionOnlyAssociatedData(binding.ConnectionId)
            : AssociatedData(binding);
        var cipherLength = payload.Length - NonceSize - TagSize;
        var plaintext = new byte[cipherLength];
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(payload.AsSpan(0, NonceSize), payload.AsSpan(NonceSize, cipherLength), payload.AsSpan(NonceSize + cipherLength), plaintext, associatedData);
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }

        token = Encoding.UTF8.GetString(plaintext);
        return true;
    }

    internal static bool TryDecodeKey(string? value, out byte[] key) => Base64Key.TryDecode(value, 32, 32, out key);

    /// <summary>The connection id goes in with its length, so no id can run into the field that follows it.</summary>
    private static byte[] AssociatedData(TokenBinding binding) => Encoding.UTF8.GetBytes(string.Create(
        CultureInfo.InvariantCulture,
        $"{Version}|connection:{binding.ConnectionId.Length}:{binding.ConnectionId}|field:{binding.Field}|generation:{binding.Generation}"));

    private static byte[] ConnectionOnlyAssociatedData(string connectionId) => Encoding.UTF8.GetBytes("connection:" + connectionId);
}
