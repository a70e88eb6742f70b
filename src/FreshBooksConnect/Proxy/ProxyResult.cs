using FreshBooksConnect.Connections;

namespace FreshBooksConnect.Proxy;

public enum ProxyOutcome
{
    /// <summary>FreshBooks' answer, whatever its status, was streamed to the caller; nothing more to write.</summary>
    Forwarded,

    /// <summary>Not a FreshBooks API path the proxy forwards. FreshBooks was not called.</summary>
    PathNotAllowed,

    /// <summary>The path's account or business is not one of the connection's. FreshBooks was not called.</summary>
    NotConnected,

    /// <summary>Too many of this connection's calls are under way on this instance. FreshBooks was not called.</summary>
    TooManyConcurrent,

    /// <summary>No token to call with (see <see cref="ProxyResult.Token"/>): not found, needs a new consent, being removed, unavailable.</summary>
    NoToken,

    /// <summary>FreshBooks refused the token; it was renewed, but the request's body was streamed, not kept, so it was not sent again.</summary>
    NotRetried,

    /// <summary>FreshBooks could not be reached, or its answer could not be read.</summary>
    Unreachable,

    /// <summary>FreshBooks did not answer within <c>FreshBooks__Timeout</c>.</summary>
    TimedOut,

    /// <summary>The caller went away, or this instance is stopping: nothing to answer.</summary>
    Canceled,
}

/// <summary>How one proxied call ended; for <see cref="ProxyOutcome.NoToken"/>, why there was no token.</summary>
public sealed record ProxyResult(ProxyOutcome Outcome, TokenResult? Token = null)
{
    internal static ProxyResult Of(ProxyOutcome outcome) => new(outcome);
}
