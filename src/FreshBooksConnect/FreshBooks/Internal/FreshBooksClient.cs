using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
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
    /// <summary>The lifetime assumed when a token answer's <c>expires_in</c> can't be used: half the documented 12 hours.</summary>
    internal const int AssumedLifetimeSeconds = 6 * 3600;

    /// <summary>How far <c>created_at</c> may be from the answer's arrival before it is reported as ignored.</summary>
    private static readonly TimeSpan CreatedAtSkew = TimeSpan.FromMinutes(5);

    /// <summary>The longest <c>Retry-After</c> a repeatable call waits out inline; a longer one is answered as it came.</summary>
    internal static readonly TimeSpan MaxInlineRetryAfter = TimeSpan.FromSeconds(5);

    private readonly FreshBooksOptions _options = options.Value;

    /// <summary>
    /// A call that may be sent again after a failure: <c>users/me</c> (a GET) and revoke (revoking a token twice, or one already
    /// dead, is a 200). Never a token call: replayed, it would spend a refresh token or a code twice.
    /// </summary>
    internal static bool IsRepeatable(HttpRequestMessage? request) =>
        request is not null
        && (request.Method == HttpMethod.Get || request.RequestUri?.AbsolutePath.EndsWith("/" + RevokePath, StringComparison.Ordinal) == true);

    public Uri BuildAuthorizeUrl(string state, string? codeVerifier)
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
        if (codeVerifier is not null)
        {
            query.Add(new("code_challenge", CodeChallenge(codeVerifier)));
            query.Add(new("code_challenge_method", "S256"));
        }

        var builder = new UriBuilder(_options.AuthUrl)
        {
            Query = string.Join('&', query.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}")),
        };
        return builder.Uri;
    }

    public Task<FreshBooksResult<TokenGrant>> ExchangeCodeAsync(string code, string? codeVerifier, CancellationToken cancellationToken) =>
        RequestTokenAsync(ConnectTelemetry.ExchangeCodeSpan, new TokenRequest("authorization_code", _options.ClientId, _options.ClientSecret, _options.RedirectUri!.AbsoluteUri, Code: code, CodeVerifier: codeVerifier), cancellationToken);

    public Task<FreshBooksResult<TokenGrant>> RefreshAsync(string refreshToken, CancellationToken cancellationToken) =>
        RequestTokenAsync(ConnectTelemetry.RefreshSpan, new TokenRequest("refresh_token", _options.ClientId, _options.ClientSecret, _options.RedirectUri!.AbsoluteUri, RefreshToken: refreshToken), cancellationToken);

    public async Task<FreshBooksResult<bool>> RevokeAsync(string token, CancellationToken cancellationToken)
    {
        var body = new RevokeRequest(_options.ClientId, _options.ClientSecret, token);
        // FreshBooks answers 200 {}: success carries no value beyond itself.
        return await SendAsync(
            ConnectTelemetry.RevokeSpan,
            () => new HttpRequestMessage(HttpMethod.Post, RevokePath) { Content = JsonContent.Create(body, FreshBooksJson.Default.RevokeRequest) },
            static (_, _) => true,
            cancellationToken).ConfigureAwait(false);
    }

    public Task<FreshBooksResult<FreshBooksIdentity>> GetIdentityAsync(string accessToken, CancellationToken cancellationToken) =>
        SendAsync(
            ConnectTelemetry.IdentitySpan,
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, IdentityPath);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
                return request;
            },
            static (body, _) => FreshBooksAnswers.ReadIdentity(body),
            cancellationToken);

    /// <summary>RFC 7636 S256: BASE64URL(SHA-256(ASCII(code_verifier))).</summary>
    private static string CodeChallenge(string codeVerifier) => Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(codeVerifier)));

    private Task<FreshBooksResult<TokenGrant>> RequestTokenAsync(string spanName, TokenRequest body, CancellationToken cancellationToken) =>
        SendAsync(
            spanName,
            () => new HttpRequestMessage(HttpMethod.Post, TokenPath) { Content = JsonContent.Create(body, FreshBooksJson.Default.TokenRequest) },
            ReadGrant,
            cancellationToken);

    /// <summary>
    /// Any 200 that carries a refresh token is a pair to keep, however odd the rest: the previous refresh token is spent. Expiry
    /// counts from when the answer arrived; an <c>expires_in</c> that can't be used gives a conservative lifetime.
    /// </summary>
    private TokenGrant? ReadGrant(byte[] body, DateTimeOffset receivedAt)
    {
        if (FreshBooksAnswers.ReadToken(body) is not { } token)
        {
            return null;
        }

        var lifetime = token.ExpiresIn;
        if (lifetime is null)
        {
            Log.FreshBooksLifetimeAssumed(logger, AssumedLifetimeSeconds);
            lifetime = TimeSpan.FromSeconds(AssumedLifetimeSeconds);
        }

        if (token.TokenType is { } type && !type.Equals("bearer", StringComparison.OrdinalIgnoreCase))
        {
            Log.FreshBooksOddTokenType(logger, FreshBooksAnswers.Printable(type));
        }

        if (token.CreatedAt is { } createdAt && (createdAt - receivedAt).Duration() > CreatedAtSkew)
        {
            Log.FreshBooksCreatedAtIgnored(logger, (long)(createdAt - receivedAt).TotalSeconds);
        }

        return new TokenGrant(token.AccessToken, token.RefreshToken, token.Scope, receivedAt + lifetime.Value);
    }

    /// <param name="spanName">The call's span: its FreshBooks status, error code and outcome, never the request or answer body.</param>
    private async Task<FreshBooksResult<TValue>> SendAsync<TValue>(
        string spanName,
        Func<HttpRequestMessage> createRequest,
        Func<byte[], DateTimeOffset, TValue?> read,
        CancellationToken cancellationToken)
    {
        using var span = ConnectTelemetry.StartSpan(spanName, kind: ActivityKind.Client);
        var result = await SendCoreAsync(span, createRequest, read, cancellationToken).ConfigureAwait(false);
        span.SetOutcome(result.Outcome);
        if (!result.IsSuccess)
        {
            span?.SetTag(ConnectTelemetry.FreshBooksErrorTag, result.Error);
            span?.SetStatus(ActivityStatusCode.Error);
        }

        return result;
    }

    private async Task<FreshBooksResult<TValue>> SendCoreAsync<TValue>(
        Activity? span,
        Func<HttpRequestMessage> createRequest,
        Func<byte[], DateTimeOffset, TValue?> read,
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

        span?.SetTag(ConnectTelemetry.HttpStatusTag, (int)response.StatusCode);

        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                // The body was read in full with the answer (ResponseContentRead); read as bytes, whatever charset the header
                // claims: JSON is UTF-8.
                var body = await response.Content.ReadAsByteArrayAsync(CancellationToken.None).ConfigureAwait(false);
                if (read(body, time.GetUtcNow()) is { } value)
                {
                    return FreshBooksResult<TValue>.Success(value);
                }

                Log.FreshBooksMalformedAnswer(logger, request.RequestUri?.AbsolutePath, (int)response.StatusCode);
                return FreshBooksResult<TValue>.Failure(FreshBooksOutcome.UnreadableAnswer, "unreadable_answer", "FreshBooks answered 200 with a body this app could not use.");
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
}

internal sealed record TokenRequest(
    [property: JsonPropertyName("grant_type")] string GrantType,
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("client_secret")] string ClientSecret,
    [property: JsonPropertyName("redirect_uri")] string RedirectUri,
    [property: JsonPropertyName("code"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Code = null,
    [property: JsonPropertyName("refresh_token"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RefreshToken = null,
    [property: JsonPropertyName("code_verifier"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CodeVerifier = null);

internal sealed record RevokeRequest(
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("client_secret")] string ClientSecret,
    [property: JsonPropertyName("token")] string Token);

internal sealed record ErrorResponse(
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("error_description")] string? ErrorDescription);

[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(TokenRequest))]
[JsonSerializable(typeof(RevokeRequest))]
[JsonSerializable(typeof(ErrorResponse))]
internal sealed partial class FreshBooksJson : JsonSerializerContext;
