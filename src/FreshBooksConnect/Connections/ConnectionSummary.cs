using FreshBooksConnect.FreshBooks;

namespace FreshBooksConnect.Connections;

/// <summary>
/// A connection as a listing shows it: everything but the tokens, read without the token columns, so listing every connection
/// never decrypts a token. <see cref="TokensReadable"/> is false once a read found the tokens unreadable (and reported it);
/// only reading the connection itself decrypts them and tells for sure.
/// </summary>
public sealed record ConnectionSummary(
    string Id,
    string? TenantId,
    FreshBooksIdentity Identity,
    string Scopes,
    DateTimeOffset AccessTokenExpiresAt,
    ConnectionStatus Status,
    string? StatusReason,
    DateTimeOffset? StatusChangedAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? LastRenewedAt,
    DateTimeOffset? NextRenewalAt,
    int FailedAttempts,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    bool TokensReadable);
