using Microsoft.AspNetCore.WebUtilities;

namespace FreshBooks.Emulator.Internal;

/// <summary>
/// Checks authorize requests and builds the redirects for Allow and Deny. The consent page,
/// its form post, <see cref="FreshBooksEmulator.ApproveAsync"/> and <see cref="FreshBooksEmulator.Deny"/> all go through here.
/// </summary>
internal sealed class AuthorizeFlow
{
    private const string DeniedDescription = "The resource owner or authorization server denied the request.";
    private readonly EmulatorOptions _options;
    private readonly EmulatorLog _log;
    private readonly OAuthServer _oauth;
    private readonly HashSet<string> _registeredRedirects;
    private readonly HashSet<string> _registeredScopes;

    public AuthorizeFlow(EmulatorOptions options, EmulatorLog log, OAuthServer oauth)
    {
        _options = options;
        _log = log;
        _oauth = oauth;
        _registeredRedirects = new HashSet<string>(StringComparer.Ordinal);
        foreach (var uri in options.RedirectUris)
        {
            _registeredRedirects.Add(RedirectUris.TryNormalize(uri, out var normalized)
                ? normalized
                : throw new ArgumentException($"Registered redirect URI '{uri}' must be an absolute http(s) URI without a query or fragment."));
        }

        _registeredScopes = SplitScopes(options.Scopes).ToHashSet(StringComparer.Ordinal);
    }

    public AuthorizeCheck Check(RequestParameters parameters)
    {
        if (parameters.Repeated is { } repeated)
        {
            return PageError(MisuseKind.InvalidRequest, "invalid_request", $"The parameter {repeated} was given more than once.");
        }

        var clientId = parameters["client_id"];
        if (clientId is null)
        {
            return PageError(MisuseKind.InvalidRequest, "invalid_request", "Missing required parameter: client_id.");
        }

        if (!string.Equals(clientId, _options.ClientId, StringComparison.Ordinal))
        {
            return PageError(MisuseKind.UnknownClient, "invalid_client", "Client authentication failed due to unknown client.");
        }

        var redirectUri = parameters["redirect_uri"];
        if (redirectUri is null)
        {
            return PageError(MisuseKind.InvalidRequest, "invalid_request", "Missing required parameter: redirect_uri.");
        }

        if (!RedirectUris.TryNormalize(redirectUri, out var normalized)
            || (_registeredRedirects.Count > 0 && !_registeredRedirects.Contains(normalized)))
        {
            return PageError(MisuseKind.RedirectUriMismatch, "invalid_redirect_uri", "The requested redirect uri is malformed or doesn't match client redirect URI.");
        }

        var responseType = parameters["response_type"];
        if (!string.Equals(responseType, "code", StringComparison.Ordinal))
        {
            return PageError(MisuseKind.UnsupportedResponseType, "unsupported_response_type", "The authorization server does not support this response type.");
        }

        var state = parameters["state"];
        var codeChallenge = parameters["code_challenge"];
        var codeChallengeMethod = parameters["code_challenge_method"];
        if (PkceProblem(codeChallenge, codeChallengeMethod) is { } pkce)
        {
            // RFC 7636 4.4.1: the redirect URI is known good by now, so the client hears of it there.
            _log.Misuse(pkce.Kind, EndpointKind.Authorize, pkce.Description);
            return AuthorizeCheck.Redirect(ErrorRedirect(redirectUri, "invalid_request", pkce.Description, state), "invalid_request");
        }

        var requestedScope = parameters["scope"];
        var scopes = requestedScope is null ? SplitScopes(_options.Scopes) : SplitScopes(requestedScope);
        var unknown = scopes.Where(s => !_registeredScopes.Contains(s)).ToArray();
        if (scopes.Length == 0 || unknown.Length > 0)
        {
            const string Description = "The requested scope is invalid, unknown, or malformed.";
            _log.Misuse(MisuseKind.InvalidScope, EndpointKind.Authorize, $"Scopes not registered for the app: {string.Join(' ', unknown)}");
            return AuthorizeCheck.Redirect(ErrorRedirect(redirectUri, "invalid_scope", Description, state), "invalid_scope");
        }

        return AuthorizeCheck.Valid(new AuthorizeRequest(responseType!, clientId, redirectUri, requestedScope, string.Join(' ', scopes), state, parameters["login_hint"], codeChallenge, codeChallengeMethod));
    }

    /// <summary>
    /// A challenge is optional unless <see cref="OAuthServer.RequirePkce"/>; one that is sent must be S256 (plain, which is
    /// also what no method means, would put the verifier itself on the URL) and look like a SHA-256 in base64url.
    /// </summary>
    private (MisuseKind Kind, string Description)? PkceProblem(string? challenge, string? method)
    {
        if (challenge is null && method is null)
        {
            return _oauth.RequirePkce ? (MisuseKind.PkceRequired, "code_challenge is required (PKCE, code_challenge_method=S256).") : null;
        }

        if (!string.Equals(method, "S256", StringComparison.Ordinal))
        {
            return (MisuseKind.InvalidCodeChallenge, "Transform algorithm not supported: code_challenge_method must be S256.");
        }

        return challenge is not null && Pkce.IsS256Challenge(challenge)
            ? null
            : (MisuseKind.InvalidCodeChallenge, "code_challenge must be the base64url SHA-256 of the code_verifier (43 characters).");
    }

    /// <summary>
    /// Allow (<paramref name="allow"/>) or Deny an authorize URL as the consent page would: the same checks,
    /// the same redirect. Requests the page refuses outright (400 error page) throw.
    /// </summary>
    public Uri Decide(Uri authorizeUrl, bool allow, long? userId)
    {
        ArgumentNullException.ThrowIfNull(authorizeUrl);
        if (!authorizeUrl.IsAbsoluteUri || !authorizeUrl.AbsolutePath.TrimEnd('/').EndsWith("/oauth/authorize", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Not an authorize URL (…/oauth/authorize/?…): {authorizeUrl}", nameof(authorizeUrl));
        }

        var check = Check(RequestParameters.FromQuery(authorizeUrl));
        if (check.ErrorRedirect is { } errorRedirect)
        {
            return errorRedirect;
        }

        if (check.Request is not { } request)
        {
            throw new InvalidOperationException($"The consent page refuses this authorize request (400 {check.Error}): {check.ErrorDescription}");
        }

        return allow ? Allow(request, ChooseUser(request, userId)) : Deny(request);
    }

    /// <summary>Who signs in: the user named by id, else the login hint's user, else the first user.</summary>
    public EmulatedUser ChooseUser(AuthorizeRequest request, long? userId)
    {
        if (userId is { } id)
        {
            return _oauth.FindUser(id) ?? throw new ArgumentException($"No emulated user has id {id}.", nameof(userId));
        }

        var hint = request.LoginHint;
        return _options.Users.FirstOrDefault(u => hint is not null
                   && (string.Equals(u.Email, hint, StringComparison.OrdinalIgnoreCase) || u.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) == hint))
               ?? _options.Users[0];
    }

    public Uri Allow(AuthorizeRequest request, EmulatedUser user)
    {
        var code = _oauth.IssueCode(request, user);
        var query = new List<KeyValuePair<string, string?>> { new("code", code) };
        if (request.State is not null)
        {
            query.Add(new("state", request.State));
        }

        return new Uri(QueryHelpers.AddQueryString(request.RedirectUri, query));
    }

    public static Uri Deny(AuthorizeRequest request) =>
        ErrorRedirect(request.RedirectUri, "access_denied", DeniedDescription, request.State);

    private static Uri ErrorRedirect(string redirectUri, string error, string description, string? state)
    {
        var query = new List<KeyValuePair<string, string?>> { new("error", error), new("error_description", description) };
        if (state is not null)
        {
            query.Add(new("state", state));
        }

        return new Uri(QueryHelpers.AddQueryString(redirectUri, query));
    }

    private AuthorizeCheck PageError(MisuseKind kind, string error, string description)
    {
        _log.Misuse(kind, EndpointKind.Authorize, description);
        return AuthorizeCheck.Page(error, description);
    }

    private static string[] SplitScopes(string scopes) =>
        scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToArray();
}
