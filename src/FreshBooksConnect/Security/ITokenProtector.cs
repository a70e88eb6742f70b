namespace FreshBooksConnect.Security;

/// <summary>Encrypts a token for one connection's row, and decrypts it only there.</summary>
public interface ITokenProtector
{
    /// <summary>Encrypts with the current key; <paramref name="connectionId"/> is bound as associated data.</summary>
    string Protect(string token, string connectionId);

    /// <summary>Decrypts a value written by <see cref="Protect"/> for the same connection; false if it was altered, moved or its key is gone.</summary>
    bool TryUnprotect(string protectedValue, string connectionId, out string token);

    /// <summary>The id of the key that <see cref="Protect"/> encrypts with now.</summary>
    string CurrentKeyId { get; }

    /// <summary>
    /// The id of the key a stored value names (configured or not), without decrypting it; null when it is no value of this
    /// protector. The one place that reads a key id out of a stored value.
    /// </summary>
    string? KeyIdOf(string protectedValue);
}
