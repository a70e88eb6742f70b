using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace FreshBooksConnect.Proxy.Internal;

/// <summary>
/// One attempt's request and response as FreshBooks and the caller see them. Out: the method, the body and its content headers,
/// the negotiation and precondition headers, all as the caller sent them, to <paramref name="destination"/>, with this
/// connection's bearer token; nothing else the caller (or the Functions host in front of it) sent: no function key, no cookie,
/// no caller's Authorization, no forwarding headers. Back: FreshBooks' status, headers and body as they come (hop-by-hop headers
/// and <c>Set-Cookie</c> left out), never cached. With <paramref name="holdBackUnauthorized"/>, a 401 is not passed on: the
/// caller renews the token and sends the request again.
/// </summary>
internal sealed class ProxyTransformer(Uri destination, string accessToken, bool holdBackUnauthorized) : HttpTransformer
{
    private static readonly HashSet<string> ForwardedRequestHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        HeaderNames.Accept, HeaderNames.AcceptCharset, HeaderNames.AcceptEncoding, HeaderNames.AcceptLanguage, "Api-Version",
        HeaderNames.CacheControl, HeaderNames.ContentDisposition, HeaderNames.ContentEncoding, HeaderNames.ContentLanguage,
        HeaderNames.ContentLength, HeaderNames.ContentMD5, HeaderNames.ContentType, HeaderNames.IfMatch, HeaderNames.IfModifiedSince,
        HeaderNames.IfNoneMatch, HeaderNames.IfRange, HeaderNames.IfUnmodifiedSince, "Prefer", HeaderNames.Range, HeaderNames.UserAgent,
    };

    /// <summary>FreshBooks answered 401 and it was held back (nothing was written to the caller's response but the status).</summary>
    public bool TokenRejected { get; private set; }

    public override ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        foreach (var (name, values) in httpContext.Request.Headers)
        {
            if (ForwardedRequestHeaders.Contains(name) && !proxyRequest.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                proxyRequest.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        proxyRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        proxyRequest.RequestUri = destination;
        return default;
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        if (holdBackUnauthorized && proxyResponse?.StatusCode == HttpStatusCode.Unauthorized)
        {
            TokenRejected = true;
            return false;
        }

        var copyBody = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken).ConfigureAwait(false);
        var headers = httpContext.Response.Headers;
        headers.Remove(HeaderNames.SetCookie);
        headers.CacheControl = "no-store";
        headers.XContentTypeOptions = "nosniff";
        return copyBody;
    }
}
