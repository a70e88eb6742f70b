using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Security;

/// <summary>
/// The key ring that encrypts tokens at rest. Section <c>TokenProtection</c>: <c>TokenProtection__CurrentKeyId</c> names the
/// key that encrypts; <c>TokenProtection__Keys__{id}</c> holds each key as base64 of 32 random bytes
/// (<c>openssl rand -base64 32</c>). Older keys stay listed so rows written with them still decrypt.
/// </summary>
public sealed class TokenProtectionOptions
{
    public const string SectionName = "TokenProtection";

    public string CurrentKeyId { get; set; } = "";

    public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);
}

internal sealed class TokenProtectionOptionsValidator : IValidateOptions<TokenProtectionOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenProtectionOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.CurrentKeyId))
        {
            failures.Add("TokenProtection__CurrentKeyId is required: the id of the key that encrypts tokens (e.g. k1).");
        }
        else if (!options.Keys.ContainsKey(options.CurrentKeyId))
        {
            failures.Add($"TokenProtection__Keys__{options.CurrentKeyId} is required: the token encryption key named by TokenProtection__CurrentKeyId (base64 of 32 random bytes).");
        }

        foreach (var (id, value) in options.Keys)
        {
            if (id.Length is 0 or > 32 || !id.All(char.IsAsciiLetterOrDigit))
            {
                failures.Add($"TokenProtection__Keys__{id}: a key id is 1 to 32 letters or digits.");
            }
            else if (!TokenKeyRing.TryDecodeKey(value, out _))
            {
                failures.Add($"TokenProtection__Keys__{id} must be base64 of exactly 32 bytes (openssl rand -base64 32).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
