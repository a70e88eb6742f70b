using FreshBooksConnect.FreshBooks;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// Runs a test's action right after FreshBooks answered a call of the app (before the app does anything with the answer):
/// "storage goes down just after FreshBooks issued a pair", exactly; or, for a code exchange, just before it is sent.
/// </summary>
public sealed class FreshBooksHooks
{
    /// <summary>After a refresh answered with a pair.</summary>
    public Func<TokenGrant, Task>? AfterRefresh { get; set; }

    /// <summary>Before a code exchange, with the PKCE verifier the app sends (null without PKCE).</summary>
    public Func<string?, Task>? BeforeExchange { get; set; }

    /// <summary>After a code exchange answered with a pair.</summary>
    public Func<TokenGrant, Task>? AfterExchange { get; set; }

    /// <summary>After a revoke, whatever FreshBooks answered.</summary>
    public Func<Task>? AfterRevoke { get; set; }

    public void AddTo(IServiceCollection services) => services.Decorate<IFreshBooksClient>((inner, _) => new Client(inner, this));

    private sealed class Client(IFreshBooksClient inner, FreshBooksHooks hooks) : IFreshBooksClient
    {
        public Uri BuildAuthorizeUrl(string state, string? codeVerifier) => inner.BuildAuthorizeUrl(state, codeVerifier);

        public async Task<FreshBooksResult<TokenGrant>> ExchangeCodeAsync(string code, string? codeVerifier, CancellationToken cancellationToken)
        {
            if (hooks.BeforeExchange is { } before)
            {
                await before(codeVerifier);
            }

            var answer = await inner.ExchangeCodeAsync(code, codeVerifier, cancellationToken);
            if (answer.IsSuccess && hooks.AfterExchange is { } hook)
            {
                await hook(answer.Value!);
            }

            return answer;
        }

        public async Task<FreshBooksResult<TokenGrant>> RefreshAsync(string refreshToken, CancellationToken cancellationToken)
        {
            var answer = await inner.RefreshAsync(refreshToken, cancellationToken);
            if (answer.IsSuccess && hooks.AfterRefresh is { } hook)
            {
                await hook(answer.Value!);
            }

            return answer;
        }

        public async Task<FreshBooksResult<bool>> RevokeAsync(string token, CancellationToken cancellationToken)
        {
            var answer = await inner.RevokeAsync(token, cancellationToken);
            if (hooks.AfterRevoke is { } hook)
            {
                await hook();
            }

            return answer;
        }

        public Task<FreshBooksResult<FreshBooksIdentity>> GetIdentityAsync(string accessToken, CancellationToken cancellationToken) =>
            inner.GetIdentityAsync(accessToken, cancellationToken);
    }
}
