namespace FreshBooksConnect.FreshBooks;

/// <summary>Talks to FreshBooks' OAuth and identity endpoints. Never retries a token call: a replayed refresh spends the token twice.</summary>
public interface IFreshBooksClient
{
    /// <summary>
    /// The consent page URL for a new consent carrying <paramref name="state"/> and, with a PKCE
    /// <paramref name="codeVerifier"/>, its S256 <c>code_challenge</c> (never the verifier itself).
    /// </summary>
    Uri BuildAuthorizeUrl(string state, string? codeVerifier);

    /// <summary>Exchanges a consent's code; <paramref name="codeVerifier"/> is the PKCE verifier its authorize URL was built with, if any.</summary>
    Task<FreshBooksResult<TokenGrant>> ExchangeCodeAsync(string code, string? codeVerifier, CancellationToken cancellationToken);

    Task<FreshBooksResult<TokenGrant>> RefreshAsync(string refreshToken, CancellationToken cancellationToken);

    Task<FreshBooksResult<bool>> RevokeAsync(string token, CancellationToken cancellationToken);

    Task<FreshBooksResult<FreshBooksIdentity>> GetIdentityAsync(string accessToken, CancellationToken cancellationToken);
}
