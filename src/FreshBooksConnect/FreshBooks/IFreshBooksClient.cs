namespace FreshBooksConnect.FreshBooks;

/// <summary>Talks to FreshBooks' OAuth and identity endpoints. Never retries a token call: a replayed refresh spends the token twice.</summary>
public interface IFreshBooksClient
{
    /// <summary>The consent page URL for a new consent carrying <paramref name="state"/>.</summary>
    Uri BuildAuthorizeUrl(string state);

    Task<FreshBooksResult<TokenGrant>> ExchangeCodeAsync(string code, CancellationToken cancellationToken);

    Task<FreshBooksResult<TokenGrant>> RefreshAsync(string refreshToken, CancellationToken cancellationToken);

    Task<FreshBooksResult<bool>> RevokeAsync(string token, CancellationToken cancellationToken);

    Task<FreshBooksResult<FreshBooksIdentity>> GetIdentityAsync(string accessToken, CancellationToken cancellationToken);
}
