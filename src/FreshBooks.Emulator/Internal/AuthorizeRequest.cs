namespace FreshBooks.Emulator.Internal;

/// <summary>
/// A validated authorize request. <see cref="Scope"/> is what will be granted (the requested scopes,
/// or the app's registered ones); the other fields are as the client sent them.
/// </summary>
internal sealed record AuthorizeRequest(
    string ResponseType,
    string ClientId,
    string RedirectUri,
    string? RequestedScope,
    string Scope,
    string? State,
    string? LoginHint,
    string? CodeChallenge = null,
    string? CodeChallengeMethod = null)
{
    /// <summary>The fields the consent form carries as hidden inputs, so the post can be checked against the nonce.</summary>
    public IEnumerable<KeyValuePair<string, string>> FormFields()
    {
        yield return new("response_type", ResponseType);
        yield return new("client_id", ClientId);
        yield return new("redirect_uri", RedirectUri);
        if (RequestedScope is not null)
        {
            yield return new("scope", RequestedScope);
        }

        if (State is not null)
        {
            yield return new("state", State);
        }

        if (LoginHint is not null)
        {
            yield return new("login_hint", LoginHint);
        }

        if (CodeChallenge is not null)
        {
            yield return new("code_challenge", CodeChallenge);
        }

        if (CodeChallengeMethod is not null)
        {
            yield return new("code_challenge_method", CodeChallengeMethod);
        }
    }
}

/// <summary>What checking an authorize request gave: a request to show consent for, an error page, or an error redirect.</summary>
internal sealed record AuthorizeCheck(AuthorizeRequest? Request, string? Error, string? ErrorDescription, Uri? ErrorRedirect)
{
    public static AuthorizeCheck Valid(AuthorizeRequest request) => new(request, null, null, null);

    /// <summary>Never redirected: the redirect URI can't be trusted, or the request is malformed.</summary>
    public static AuthorizeCheck Page(string error, string description) => new(null, error, description, null);

    public static AuthorizeCheck Redirect(Uri location, string error) => new(null, error, null, location);
}
