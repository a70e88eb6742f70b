namespace FreshBooksConnect.Security;

/// <summary>Encrypts a token for one connection's row, and decrypts it only there.</summary>
public interface ITokenProtector
{
    /// <summary>Encrypts with the current key; <paramref name="connectionId"/> is bound as associated data.</summary>
    string Protect(string token, string connectionId);

    /// <summary>Decrypts a value written by <see cref="Protect"/> for the same connection; false if it was altered, moved or its key is gone.</summary>
    bool TryUnprotect(string protectedValue, string connectionId, out string token);
}
