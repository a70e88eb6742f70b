using System.Diagnostics.CodeAnalysis;

namespace FreshBooksConnect.FreshBooks;

/// <summary>A token pair FreshBooks issued, with the expiry computed from the answer and the time it arrived.</summary>
public sealed record TokenGrant(string AccessToken, string RefreshToken, string Scope, DateTimeOffset AccessTokenExpiresAt);

/// <summary>Who connected: the FreshBooks user behind a token (<c>users/me</c>).</summary>
public sealed record FreshBooksIdentity(
    long Id,
    string? IdentityUuid,
    string? FirstName,
    string? LastName,
    string? Email,
    IReadOnlyList<BusinessMembership> Businesses)
{
    public string DisplayName => string.Join(' ', new[] { FirstName, LastName }.Where(s => !string.IsNullOrWhiteSpace(s)));
}

/// <summary>One business the user belongs to. <see cref="AccountId"/> addresses the accounting API, <see cref="BusinessId"/> the projects API.</summary>
public sealed record BusinessMembership(long MembershipId, string? Role, long BusinessId, string? BusinessUuid, string? Name, string? AccountId);

/// <summary>How a call to FreshBooks ended. Callers decide on this, not on exception text.</summary>
public enum FreshBooksOutcome
{
    Success,
    /// <summary>The code or refresh token is spent, expired or unknown (<c>400 invalid_grant</c>): only a new consent helps.</summary>
    InvalidGrant,
    /// <summary>The bearer token is dead (<c>401</c>).</summary>
    Unauthenticated,
    /// <summary>FreshBooks refused this app's credentials (<c>invalid_client</c>): a configuration problem.</summary>
    InvalidClient,
    /// <summary>Missing scope (<c>403</c>).</summary>
    Forbidden,
    /// <summary>Any other 4xx: the request itself was wrong.</summary>
    Rejected,
    /// <summary>5xx, 429, a timeout or a network error: worth trying again later.</summary>
    Transient,

    /// <summary>
    /// FreshBooks answered 200 with a body this app cannot use (no refresh token, not JSON). For a token call the code or the
    /// previous refresh token may be spent already, so it is not asked again at once: a later renewal decides.
    /// </summary>
    UnreadableAnswer,
}

/// <summary>The answer to one FreshBooks call: a value on success, otherwise an outcome and what FreshBooks said.</summary>
public sealed record FreshBooksResult<T>(FreshBooksOutcome Outcome, T? Value, string? Error, string? ErrorDescription, TimeSpan? RetryAfter)
{
    [MemberNotNullWhen(true, nameof(Value))]
    public bool IsSuccess => Outcome == FreshBooksOutcome.Success;

    public static FreshBooksResult<T> Success(T value) => new(FreshBooksOutcome.Success, value, null, null, null);

    public static FreshBooksResult<T> Failure(FreshBooksOutcome outcome, string? error, string? description = null, TimeSpan? retryAfter = null) =>
        new(outcome, default, error, description, retryAfter);
}
