using System.Globalization;
using FreshBooksConnect.FreshBooks;

namespace FreshBooksConnect.Proxy;

/// <summary>What a FreshBooks API path is scoped by.</summary>
public enum FreshBooksPathScope
{
    /// <summary><c>accounting/account/{accountId}/…</c>, <c>payments/account/{accountId}/…</c>.</summary>
    Account,

    /// <summary><c>timetracking/business/{businessId}/…</c>, <c>projects/business/{businessId}/…</c>, <c>comments/business/{businessId}/…</c>.</summary>
    Business,

    /// <summary><c>auth/api/v1/users/me</c>: the connection's own identity.</summary>
    Identity,
}

/// <summary>
/// A path the proxy may forward: one of FreshBooks' API families, each scoped by an id from <c>users/me</c>, in plain segments
/// (letters, digits, <c>-._~</c>; no empty, <c>.</c> or <c>..</c> segment, nothing percent-encoded), so the path FreshBooks
/// sees is the one checked here.
/// </summary>
public sealed record FreshBooksPath(string Value, FreshBooksPathScope Scope, string? ScopeId)
{
    private const int MaxLength = 1024;

    public static bool TryParse(string? path, out FreshBooksPath parsed)
    {
        parsed = null!;
        if (path is null or { Length: 0 or > MaxLength })
        {
            return false;
        }

        var segments = path.Split('/');
        if (!segments.All(IsPlainSegment))
        {
            return false;
        }

        FreshBooksPath? match = segments switch
        {
            ["auth", "api", "v1", "users", "me"] => new(path, FreshBooksPathScope.Identity, null),
            ["accounting" or "payments", "account", var accountId, _, ..] => new(path, FreshBooksPathScope.Account, accountId),
            ["timetracking" or "projects" or "comments", "business", var businessId, _, ..] when businessId.All(char.IsAsciiDigit)
                => new(path, FreshBooksPathScope.Business, businessId),
            _ => null,
        };
        if (match is null)
        {
            return false;
        }

        parsed = match;
        return true;
    }

    /// <summary>Whether <paramref name="identity"/> (the connection's, stored at consent) reaches this path's account or business.</summary>
    public bool IsReachableBy(FreshBooksIdentity identity) => Scope switch
    {
        FreshBooksPathScope.Account => identity.Businesses.Any(b => b.AccountId is { Length: > 0 } accountId && accountId == ScopeId),
        FreshBooksPathScope.Business => identity.Businesses.Any(b => b.BusinessId.ToString(CultureInfo.InvariantCulture) == ScopeId),
        _ => true,
    };

    /// <summary>The path's family for logs and metrics (<c>accounting</c>, <c>projects</c>, …): never an id.</summary>
    public string Family => Value[..Value.IndexOf('/', StringComparison.Ordinal)];

    private static bool IsPlainSegment(string segment) =>
        segment.Length > 0 && segment is not ("." or "..") && segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~');
}
