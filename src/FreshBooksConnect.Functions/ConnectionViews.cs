using FreshBooksConnect.Connections;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Functions.Http;
using Microsoft.AspNetCore.Http;

namespace FreshBooksConnect.Functions;

/// <summary>A connection as the SaaS backend sees it: everything but the tokens.</summary>
public sealed record ConnectionView(
    string Id,
    string? TenantId,
    string Status,
    string? StatusReason,
    DateTimeOffset? StatusChangedAt,
    IdentityView Identity,
    IReadOnlyList<BusinessView> Businesses,
    string Scopes,
    DateTimeOffset AccessTokenExpiresAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? LastRenewedAt,
    DateTimeOffset? NextRenewalAt,
    int FailedAttempts,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    bool TokensReadable)
{
    public static ConnectionView From(Connection c) => From(c.Summary());

    public static ConnectionView From(ConnectionSummary c) => new(
        c.Id,
        c.TenantId,
        StatusName(c.Status),
        c.StatusReason,
        c.StatusChangedAt,
        IdentityView.From(c.Identity),
        BusinessView.From(c.Identity.Businesses),
        c.Scopes,
        c.AccessTokenExpiresAt,
        c.CreatedAt,
        c.UpdatedAt,
        c.LastRenewedAt,
        c.NextRenewalAt,
        c.FailedAttempts,
        c.LastError,
        c.LastErrorAt,
        c.TokensReadable);

    public static string StatusName(ConnectionStatus status) => status switch
    {
        ConnectionStatus.NeedsReconsent => "needs-reconsent",
        ConnectionStatus.Removing => "removing",
        _ => "active",
    };
}

public sealed record IdentityView(long Id, string? IdentityUuid, string? FirstName, string? LastName, string? Email)
{
    public static IdentityView From(FreshBooksIdentity i) => new(i.Id, i.IdentityUuid, i.FirstName, i.LastName, i.Email);
}

/// <summary>A business the connection reaches: <see cref="AccountId"/> for <c>/accounting/account/{accountId}/...</c>, <see cref="BusinessId"/> for <c>/projects/business/{businessId}/...</c>.</summary>
public sealed record BusinessView(long BusinessId, string? BusinessUuid, string? Name, string? AccountId, string? Role)
{
    public static IReadOnlyList<BusinessView> From(IReadOnlyList<BusinessMembership> memberships) =>
        memberships.Select(m => new BusinessView(m.BusinessId, m.BusinessUuid, m.Name, m.AccountId, m.Role)).ToList();
}

/// <summary>The token API's answer: a working access token and where it can be used.</summary>
public sealed record TokenView(string ConnectionId, string AccessToken, string TokenType, DateTimeOffset ExpiresAt, string Scopes, long IdentityId, IReadOnlyList<BusinessView> Businesses)
{
    public static TokenView From(Connection c) => new(c.Id, c.AccessToken, "Bearer", c.AccessTokenExpiresAt, c.Scopes, c.Identity.Id, BusinessView.From(c.Identity.Businesses));
}

/// <summary>The token API's answers for each outcome, shared by the token and refresh routes.</summary>
public static class TokenResponses
{
    public static JsonResponse For(string connectionId, TokenResult answer) => answer switch
    {
        { Outcome: TokenOutcome.Issued, Connection: { } connection } => JsonResponse.Ok(TokenView.From(connection)),
        { Outcome: TokenOutcome.NotFound } => ConnectionProblems.NotFound(connectionId),
        { Outcome: TokenOutcome.Unreadable } => JsonResponse.Problem(
            StatusCodes.Status500InternalServerError,
            "Connection tokens unreadable",
            "This connection's tokens cannot be decrypted with the keys in TokenProtection__Keys: restore the key they were written with, or have the customer consent again.",
            "connection-unreadable"),
        { Outcome: TokenOutcome.NeedsReconsent } => JsonResponse.Problem(
            StatusCodes.Status409Conflict,
            "Connection needs a new consent",
            "FreshBooks no longer accepts this connection's grant. Send the customer a new onboarding link; consenting again revives the same connection.",
            "needs-reconsent",
            extensions: new Dictionary<string, object?>
            {
                ["connectionId"] = connectionId,
                ["reason"] = answer.Connection?.StatusReason,
                ["since"] = answer.Connection?.StatusChangedAt,
            }),
        { Outcome: TokenOutcome.Removing } => JsonResponse.Problem(
            StatusCodes.Status409Conflict,
            "Connection is being removed",
            "A DELETE of this connection revoked its grant but did not finish. Send DELETE again to finish it; no token is served meanwhile.",
            "connection-removing"),
        _ => JsonResponse.Problem(
            StatusCodes.Status503ServiceUnavailable,
            "Token temporarily unavailable",
            "FreshBooks or storage could not renew the token just now. Try again after the Retry-After delay.",
            "token-unavailable",
            answer.RetryAfter),
    };
}

public static class ConnectionProblems
{
    /// <summary>Storage did not answer, or this instance is stopping: nothing was changed by this request; send it again shortly.</summary>
    public static JsonResponse Unavailable() => JsonResponse.Problem(
        StatusCodes.Status503ServiceUnavailable,
        "Temporarily unavailable",
        "The connection store did not answer, or this instance is stopping. Nothing was changed. Try again after the Retry-After delay.",
        "unavailable",
        TimeSpan.FromSeconds(5));

    public static JsonResponse NotFound(string connectionId) => JsonResponse.Problem(
        StatusCodes.Status404NotFound, "Connection not found", $"There is no connection '{connectionId}'.", "connection-not-found");

    public static JsonResponse InvalidId() => JsonResponse.Problem(
        StatusCodes.Status400BadRequest, "Invalid connection id", "A connection id is 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.", "invalid-connection-id");
}
