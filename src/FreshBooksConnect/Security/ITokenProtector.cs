namespace FreshBooksConnect.Security;

/// <summary>Which token of a connection's row a value is.</summary>
public enum TokenField
{
    AccessToken,
    RefreshToken,
}

/// <summary>
/// Where a protected token belongs: the connection, the column and the token generation (the pair it is part of). A value decrypts
/// only where it was written: not in another row, not in the other column, not in the row after a newer pair replaced it.
/// </summary>
public readonly record struct TokenBinding(string ConnectionId, TokenField Field, long Generation);

/// <summary>Encrypts a token for one place in one connection's row, and decrypts it only there.</summary>
public interface ITokenProtector
{
    /// <summary>Encrypts with the current key, in the current format; <paramref name="binding"/> is bound as associated data.</summary>
    string Protect(string token, TokenBinding binding);

    /// <summary>
    /// Decrypts a value written by <see cref="Protect"/> for the same binding; false if it was altered, moved, swapped, rolled back
    /// or its key is gone. A value of the format before issue 17 is bound to the connection id alone, and still reads.
    /// </summary>
    bool TryUnprotect(string protectedValue, TokenBinding binding, out string token);

    /// <summary>The id of the key that <see cref="Protect"/> encrypts with now.</summary>
    string CurrentKeyId { get; }

    /// <summary>
    /// The id of the key a stored value names (configured or not), without decrypting it; null when it is no value of this
    /// protector. The one place that reads a key id out of a stored value.
    /// </summary>
    string? KeyIdOf(string protectedValue);

    /// <summary>True when <paramref name="protectedValue"/> is under the current key in the current format: writing it again changes nothing.</summary>
    bool IsCurrent(string protectedValue);
}
