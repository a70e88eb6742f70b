using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using FreshBooksConnect.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.FreshBooks.Internal;

/// <summary>Typed client over IHttpClientFactory. Parses FreshBooks' success and error bodies into outcomes.</summary>
internal sealed class FreshBooksClient(HttpClient http, IOptions<FreshBooksOptions> options, TimeProvider time, ILogger<FreshBooksClient> logger) : IFreshBooksClient
{
    private const string TokenPath = "auth/oauth/token";
    private const string RevokePath = "auth/oauth/revoke";
    private const string IdentityPath = "auth/api/v1/users/me";
    private readonly FreshBooksOptions _options = options.Value;

    public Uri BuildAuthorizeUrl(string state)
    {
        var query = new List<KeyValuePair<string, string>>
        {
            new("response_type", "code"),
            new("client_id", _options.ClientId),
            new("redirect_uri", _options.RedirectUri!.AbsoluteUri),
        };
        if (!string.IsNullOrWhiteSpace(_options.Scopes))
        {
            query.Add(new("scope", _options.Scopes.Trim()));
        }

        query.Add(new("state", state));
        var builder = new UriBuilder(_options.AuthUrl)
        {
            Query = string.Join('&', query.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}")),
        };
        return builder.Uri;
    }

    public Task<FreshBooksResult<TokenGrant>> ExchangeCodeAsync(string code, CancellationToken cancellationToken) =>
        RequestTokenAsync(new TokenRequest("authorization_code", _options.ClientId, _options.ClientSecret, _options.RedirectUri!.AbsoluteUri, Code: code), cancellationToken);

    public Task<FreshBooksResult<TokenGrant>> RefreshAsync(string refreshToken, CancellationToken cancellationToken) =>
        RequestTokenAsync(new TokenRequest("refresh_token", _options.ClientId, _options.ClientSecret, _options.RedirectUri!.AbsoluteUri, RefreshToken: refreshToken), cancellationToken);

    public async Task<FreshBooksResult<bool>> RevokeAsync(string token, CancellationToken cancellationToken)
    {
        var body = new RevokeRequest(_options.ClientId, _options.ClientSecret, token);
        // FreshBooks answers 200 {}: success carries no value beyond itself.
        return await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Post, RevokePath) { Content = JsonContent.Create(body, FreshBooksJson.Default.RevokeRequest) },
            static (_, _) => Task.FromResult(true),
            cancellationToken).ConfigureAwait(false);
    }

    public Task<FreshBooksResult<FreshBooksIdentity>> GetIdentityAsync(string accessToken, CancellationToken cancellationToken) =>
        SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, IdentityPath);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
                return request;
            },
            async (content, ct) => await content.ReadFromJsonAsync(FreshBooksJson.Default.IdentityEnvelope, ct).ConfigureAwait(false) is { } envelope ? ParseIdentity(envelope) : null,
            cancellationToken);

    private async Task<FreshBooksResult<TokenGrant>> RequestTokenAsync(TokenRequest body, CancellationToken cancellationToken)
    {
        var sentAt = time.GetUtcNow();
        return await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Post, TokenPath) { Content = JsonContent.Create(body, FreshBooksJson.Default.TokenRequest) },
            async (content, ct) => await content.ReadFromJsonAsync(FreshBooksJson.Default.TokenResponse, ct).ConfigureAwait(false) is { } response ? ToGrant(response, sentAt) : null,
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<FreshBooksResult<TValue>> SendAsync<TValue>(
        Func<HttpRequestMessage> createRequest,
        Func<HttpContent, CancellationToken, Task<TValue?>> read,
        CancellationToken cancellationToken)
    {
        using var request = createRequest();
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or TimeoutException or Polly.Timeout.TimeoutRejectedException or IOException && !cancellationToken.IsCancellationRequested)
        {
            Log.FreshBooksUnreachable(logger, request.RequestUri?.AbsolutePath, ex.GetType().Name);
            return FreshBooksResult<TValue>.Failure(FreshBooksOutcome.Transient, "unreachable", "FreshBooks could not be reached.");
        }

        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                try
                {
                    var value = await read(response.Content, cancellationToken).ConfigureAwait(false);
                    if (value is not null)
                    {
                        return FreshBooksResult<TValue>.Success(value);
                    }
                }
                catch (JsonException)
                {
                    // Falls through to the malformed-answer outcome below.
                }

                Log.FreshBooksMalformedAnswer(logger, request.RequestUri?.AbsolutePath, (int)response.StatusCode);
                return FreshBooksResult<TValue>.Failure(FreshBooksOutcome.Transient, "malformed_response", "FreshBooks answered with a body this app could not read.");
            }

            var error = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
            var outcome = Classify(response.StatusCode, error?.Error);
            Log.FreshBooksRefused(logger, request.RequestUri?.AbsolutePath, (int)response.StatusCode, error?.Error, outcome);
            return FreshBooksResult<TValue>.Failure(outcome, error?.Error ?? ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture), error?.ErrorDescription, RetryAfter(response));
        }
    }

    internal static FreshBooksOutcome Classify(HttpStatusCode status, string? error) => (status, error) switch
    {
        (HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout, _) => FreshBooksOutcome.Transient,
        (>= HttpStatusCode.InternalServerError, _) => FreshBooksOutcome.Transient,
        (_, "invalid_grant") => FreshBooksOutcome.InvalidGrant,
        (_, "invalid_client" or "unauthorized_client") => FreshBooksOutcome.InvalidClient,
        (HttpStatusCode.Unauthorized, _) => FreshBooksOutcome.Unauthenticated,
        (HttpStatusCode.Forbidden, _) => FreshBooksOutcome.Forbidden,
        _ => FreshBooksOutcome.Rejected,
    };

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        return header?.Date is { } date ? Max(date - time.GetUtcNow(), TimeSpan.Zero) : null;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static async Task<ErrorResponse?> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            if (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true)
            {
                return await response.Content.ReadFromJsonAsync(FreshBooksJson.Default.ErrorResponse, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (JsonException)
        {
            // An error page that is not JSON (a proxy's HTML, say) carries no error code.
        }

        return null;
    }

    /// <summary>Expiry is <c>created_at + expires_in</c>, but never later than the time we asked plus <c>expires_in</c>: a refresh may echo the grant's original <c>created_at</c> or come from a skewed clock.</summary>
    internal static TokenGrant? ToGrant(TokenResponse response, DateTimeOffset sentAt)
    {
        if (string.IsNullOrEmpty(response.AccessToken) || string.IsNullOrEmpty(response.RefreshToken) || response.ExpiresIn is not > 0)
        {
            return null;
        }

        var lifetime = TimeSpan.FromSeconds(response.ExpiresIn.Value);
        var byReceipt = sentAt + lifetime;
        var expiresAt = response.CreatedAt is { } created ? DateTimeOffset.FromUnixTimeSeconds(created) + lifetime : byReceipt;
        if (expiresAt > byReceipt)
        {
            expiresAt = byReceipt;
        }

        return new TokenGrant(response.AccessToken, response.RefreshToken, response.Scope ?? "", expiresAt);
    }

    internal static FreshBooksIdentity? ParseIdentity(IdentityEnvelope envelope)
    {
        if (envelope.Response is not { Id: > 0 } user)
        {
            return null;
        }

        var businesses = (user.BusinessMemberships ?? [])
            .Where(m => m.Business is not null)
            .Select(m => new BusinessMembership(m.Id, m.Role, m.Business!.Id, m.Business.BusinessUuid, m.Business.Name, m.Business.AccountId))
            .ToList();
        return new FreshBooksIdentity(user.Id, user.IdentityUuid, user.FirstName, user.LastName, user.Email, businesses);
    }
}

internal sealed record TokenRequest(
    [property: JsonPropertyName("grant_type")] string GrantType,
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("client_secret")] string ClientSecret,
    [property: JsonPropertyName("redirect_uri")] string RedirectUri,
    [property: JsonPropertyName("code"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Code = null,
    [property: JsonPropertyName("refresh_token"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RefreshToken = null);

internal sealed record RevokeRequest(
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("client_secret")] string ClientSecret,
    [property: JsonPropertyName("token")] string Token);

internal sealed record TokenResponse(
    [property: JsonPropertyName("access_token")] string? AccessToken,
    [property: JsonPropertyName("token_type")] string? TokenType,
    [property: JsonPropertyName("expires_in")] long? ExpiresIn,
    [property: JsonPropertyName("refresh_token")] string? RefreshToken,
    [property: JsonPropertyName("scope")] string? Scope,
    [property: JsonPropertyName("created_at")] long? CreatedAt);

internal sealed record ErrorResponse(
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("error_description")] string? ErrorDescription);

internal sealed record IdentityEnvelope([property: JsonPropertyName("response")] IdentityResponse? Response);

internal sealed record IdentityResponse(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("identity_uuid")] string? IdentityUuid,
    [property: JsonPropertyName("first_name")] string? FirstName,
    [property: JsonPropertyName("last_name")] string? LastName,
    [property: JsonPropertyName("email")] string? Email,
    [property: JsonPropertyName("business_memberships")] IReadOnlyList<MembershipResponse>? BusinessMemberships);

internal sealed record MembershipResponse(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("role")] string? Role,
    [property: JsonPropertyName("business")] BusinessResponse? Business);

internal sealed record BusinessResponse(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("business_uuid")] string? BusinessUuid,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("account_id")] string? AccountId);

[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(TokenRequest))]
[JsonSerializable(typeof(RevokeRequest))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(IdentityEnvelope))]
internal sealed partial class FreshBooksJson : JsonSerializerContext;
