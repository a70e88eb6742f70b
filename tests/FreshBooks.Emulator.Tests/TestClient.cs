using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.WebUtilities;

namespace FreshBooks.Emulator.Tests;

public enum BodyEncoding
{
    Json,
    Form,
    Multipart,
}

public sealed record TokenPair(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("token_type")] string TokenType,
    [property: JsonPropertyName("expires_in")] long ExpiresIn,
    [property: JsonPropertyName("refresh_token")] string RefreshToken,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("created_at")] long CreatedAt);

/// <summary>A FreshBooks OAuth client as simple as the tests need: builds authorize URLs, talks to the token and API endpoints.</summary>
public sealed class TestClient(FreshBooksEmulator emulator, HttpClient http, EmulatorOptions options)
{
    public string ClientId => options.ClientId;

    public string ClientSecret => options.ClientSecret;

    public Uri AuthorizeUrl(
        string? state = "state-123",
        string? scope = null,
        string redirectUri = EmulatorHarness.RedirectUri,
        string? clientId = null,
        string responseType = "code",
        string? loginHint = null,
        string? codeChallenge = null,
        string? codeChallengeMethod = null)
    {
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = responseType,
            ["client_id"] = clientId ?? options.ClientId,
            ["redirect_uri"] = redirectUri,
        };
        if (scope is not null)
        {
            query["scope"] = scope;
        }

        if (state is not null)
        {
            query["state"] = state;
        }

        if (loginHint is not null)
        {
            query["login_hint"] = loginHint;
        }

        if (codeChallenge is not null)
        {
            query["code_challenge"] = codeChallenge;
        }

        if (codeChallengeMethod is not null)
        {
            query["code_challenge_method"] = codeChallengeMethod;
        }

        return new Uri(QueryHelpers.AddQueryString(emulator.AuthorizeUri.AbsoluteUri, query));
    }

    public async Task<string> CodeAsync(string? scope = null, long? userId = null)
    {
        var redirect = await emulator.ApproveAsync(AuthorizeUrl(scope: scope), userId);
        return Query(redirect)["code"].ToString();
    }

    public Task<HttpResponseMessage> PostTokenAsync(IDictionary<string, string> fields, BodyEncoding encoding = BodyEncoding.Json, HttpClient? client = null) =>
        (client ?? http).PostAsync("auth/oauth/token", Body(fields, encoding));

    public Task<HttpResponseMessage> ExchangeAsync(string code, string redirectUri = EmulatorHarness.RedirectUri, string? clientSecret = null, BodyEncoding encoding = BodyEncoding.Json, string? codeVerifier = null)
    {
        var fields = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["client_id"] = options.ClientId,
            ["client_secret"] = clientSecret ?? options.ClientSecret,
            ["code"] = code,
            ["redirect_uri"] = redirectUri,
        };
        if (codeVerifier is not null)
        {
            fields["code_verifier"] = codeVerifier;
        }

        return PostTokenAsync(fields, encoding);
    }

    public Task<HttpResponseMessage> RefreshAsync(string refreshToken, string? redirectUri = EmulatorHarness.RedirectUri, HttpClient? client = null, BodyEncoding encoding = BodyEncoding.Json)
    {
        var fields = new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["client_id"] = options.ClientId,
            ["client_secret"] = options.ClientSecret,
            ["refresh_token"] = refreshToken,
        };
        if (redirectUri is not null)
        {
            fields["redirect_uri"] = redirectUri;
        }

        return PostTokenAsync(fields, encoding, client);
    }

    /// <summary>Consent (as if Allow was clicked) and code exchange: a fresh grant.</summary>
    public async Task<TokenPair> ConnectAsync(string? scope = null, long? userId = null)
    {
        using var response = await ExchangeAsync(await CodeAsync(scope, userId));
        return await PairAsync(response);
    }

    public async Task<TokenPair> RefreshPairAsync(string refreshToken)
    {
        using var response = await RefreshAsync(refreshToken);
        return await PairAsync(response);
    }

    public Task<HttpResponseMessage> RevokeAsync(string token, string? clientSecret = null) =>
        http.PostAsync("auth/oauth/revoke", JsonContent.Create(new Dictionary<string, string>
        {
            ["client_id"] = options.ClientId,
            ["client_secret"] = clientSecret ?? options.ClientSecret,
            ["token"] = token,
        }));

    public Task<HttpResponseMessage> MeAsync(string? accessToken) => GetWithBearerAsync("auth/api/v1/users/me", accessToken);

    public Task<HttpResponseMessage> ClientsAsync(string? accessToken, string accountId) =>
        GetWithBearerAsync($"accounting/account/{accountId}/users/clients", accessToken);

    public static async Task<TokenPair> PairAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200 from the token endpoint, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<TokenPair>())!;
    }

    /// <summary>The <c>error</c> of an OAuth error body.</summary>
    public static async Task<string?> ErrorAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(body.RootElement.TryGetProperty("error_description", out _), "error bodies carry error_description");
        return body.RootElement.GetProperty("error").GetString();
    }

    public static Dictionary<string, Microsoft.Extensions.Primitives.StringValues> Query(Uri uri) => QueryHelpers.ParseQuery(uri.Query);

    /// <summary>Any API call with a bearer token (none when <paramref name="accessToken"/> is null).</summary>
    public async Task<HttpResponseMessage> ApiAsync(HttpMethod method, string path, string? accessToken, object? jsonBody = null, HttpClient? client = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path);
        if (accessToken is not null)
        {
            request.Headers.Authorization = new("Bearer", accessToken);
        }

        if (jsonBody is not null)
        {
            request.Content = JsonContent.Create(jsonBody);
        }

        return await (client ?? http).SendAsync(request, cancellationToken);
    }

    private Task<HttpResponseMessage> GetWithBearerAsync(string path, string? accessToken) => ApiAsync(HttpMethod.Get, path, accessToken);

    private static HttpContent Body(IDictionary<string, string> fields, BodyEncoding encoding)
    {
        switch (encoding)
        {
            case BodyEncoding.Json:
                return JsonContent.Create(fields);
            case BodyEncoding.Form:
                return new FormUrlEncodedContent(fields);
            default:
                var multipart = new MultipartFormDataContent();
                foreach (var (name, value) in fields)
                {
                    multipart.Add(new StringContent(value), name);
                }

                return multipart;
        }
    }
}
