using FreshBooksConnect.Connections;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Proxy.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace FreshBooksConnect.Proxy;

/// <summary>
/// Calls FreshBooks for the SaaS backend with a connection's token, which never leaves the app: checks the path is one of
/// FreshBooks' API families for an account or business of that connection, takes the token (from the token cache, renewed inline
/// when needed), and streams the request and the answer through YARP's <see cref="IHttpForwarder"/>. When FreshBooks answers 401
/// to that token (another instance refreshed it, say) it runs the same compare-and-refresh as the refresh route and sends the
/// request once more with the newer token; a request body is kept for that only up to <see cref="ProxyOptions.RetryBodyLimit"/>.
/// </summary>
public sealed class FreshBooksProxy
{
    private readonly ConnectionTokenService _tokens;
    private readonly IHttpForwarder _forwarder;
    private readonly ProxyHttpInvoker _invoker;
    private readonly ProxyConcurrency _concurrency;
    private readonly ProxyMetrics _metrics;
    private readonly ProxyOptions _options;
    private readonly string _apiUrl;
    private readonly ForwarderRequestConfig _requestConfig;
    private readonly ILogger<FreshBooksProxy> _logger;

    internal FreshBooksProxy(
        ConnectionTokenService tokens,
        IHttpForwarder forwarder,
        ProxyHttpInvoker invoker,
        ProxyConcurrency concurrency,
        ProxyMetrics metrics,
        ProxyOptions options,
        FreshBooksOptions freshBooks,
        ILogger<FreshBooksProxy> logger)
    {
        _tokens = tokens;
        _forwarder = forwarder;
        _invoker = invoker;
        _concurrency = concurrency;
        _metrics = metrics;
        _options = options;
        _logger = logger;
        _apiUrl = freshBooks.ApiUrl.AbsoluteUri.TrimEnd('/');

        // FreshBooks__Timeout bounds each wait: for the answer, and between reads or writes of either body.
        _requestConfig = new ForwarderRequestConfig { ActivityTimeout = freshBooks.Timeout };
    }

    /// <summary>
    /// Forwards the request in <paramref name="http"/> to <c>FreshBooks__ApiUrl/{path}</c> for connection <paramref name="connectionId"/>.
    /// On <see cref="ProxyOutcome.Forwarded"/> and <see cref="ProxyOutcome.Canceled"/> the response is done; on any other outcome
    /// nothing was written to it, and FreshBooks was not called unless the outcome says so.
    /// </summary>
    public async Task<ProxyResult> ForwardAsync(HttpContext http, string connectionId, string? path, CancellationToken cancellationToken)
    {
        var result = await ForwardCoreAsync(http, connectionId, path, cancellationToken).ConfigureAwait(false);
        var status = result.Outcome == ProxyOutcome.Forwarded ? http.Response.StatusCode : 0;
        _metrics.RecordRequest(result.Outcome, status);
        Log.Proxied(_logger, connectionId, http.Request.Method, FreshBooksPath.TryParse(path, out var target) ? target.Family : "-", result.Outcome, status);
        return result;
    }

    private async Task<ProxyResult> ForwardCoreAsync(HttpContext http, string connectionId, string? path, CancellationToken cancellationToken)
    {
        if (!FreshBooksPath.TryParse(path, out var target))
        {
            return ProxyResult.Of(ProxyOutcome.PathNotAllowed);
        }

        using var permit = _concurrency.TryEnter(connectionId);
        if (permit is null)
        {
            return ProxyResult.Of(ProxyOutcome.TooManyConcurrent);
        }

        var token = await _tokens.GetTokenAsync(connectionId, cancellationToken).ConfigureAwait(false);
        if (token is not { Outcome: TokenOutcome.Issued, Connection: { } connection })
        {
            return new ProxyResult(ProxyOutcome.NoToken, token);
        }

        if (!target.IsReachableBy(connection.Identity))
        {
            return ProxyResult.Of(ProxyOutcome.NotConnected);
        }

        bool canSendAgain;
        try
        {
            canSendAgain = await KeepBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or BadHttpRequestException)
        {
            // The caller stopped sending its body: there is no one to answer.
            return ProxyResult.Of(ProxyOutcome.Canceled);
        }

        var destination = new Uri($"{_apiUrl}/{target.Value}{ForwardedQuery(http.Request.QueryString)}");
        var first = await SendAsync(http, destination, connection.AccessToken, holdBackUnauthorized: true, cancellationToken).ConfigureAwait(false);
        if (first is not null)
        {
            return first;
        }

        // FreshBooks refused the token this call used: refresh it if it is still the stored one, else take the newer one.
        http.Response.Clear();
        var renewed = await _tokens.RefreshRejectedAsync(connectionId, connection.AccessToken, cancellationToken).ConfigureAwait(false);
        if (renewed is not { Outcome: TokenOutcome.Issued, Connection: { } current })
        {
            return new ProxyResult(ProxyOutcome.NoToken, renewed);
        }

        if (!canSendAgain)
        {
            return ProxyResult.Of(ProxyOutcome.NotRetried);
        }

        _metrics.RecordRetry();
        if (http.Request.Body.CanSeek)
        {
            http.Request.Body.Position = 0;
        }

        return await SendAsync(http, destination, current.AccessToken, holdBackUnauthorized: false, cancellationToken).ConfigureAwait(false)
            ?? ProxyResult.Of(ProxyOutcome.Forwarded);
    }

    /// <returns>The result, or null when FreshBooks answered 401 and it was held back.</returns>
    private async Task<ProxyResult?> SendAsync(HttpContext http, Uri destination, string accessToken, bool holdBackUnauthorized, CancellationToken cancellationToken)
    {
        var transformer = new ProxyTransformer(destination, accessToken, holdBackUnauthorized);
        var error = await _forwarder.SendAsync(http, _apiUrl, _invoker, _requestConfig, transformer, cancellationToken).ConfigureAwait(false);
        if (error == ForwarderError.None)
        {
            return transformer.TokenRejected ? null : ProxyResult.Of(ProxyOutcome.Forwarded);
        }

        if (http.Response.HasStarted)
        {
            // Part of FreshBooks' answer went out already; YARP ended the response as well as it could.
            return ProxyResult.Of(ProxyOutcome.Forwarded);
        }

        // YARP put a bare 502/504 on the response: the caller gets a problem instead.
        http.Response.Clear();
        return error switch
        {
            _ when cancellationToken.IsCancellationRequested || http.RequestAborted.IsCancellationRequested => ProxyResult.Of(ProxyOutcome.Canceled),
            ForwarderError.RequestTimedOut => ProxyResult.Of(ProxyOutcome.TimedOut),
            ForwarderError.RequestBodyClient or ForwarderError.RequestBodyCanceled or ForwarderError.RequestCanceled => ProxyResult.Of(ProxyOutcome.Canceled),
            _ => ProxyResult.Of(ProxyOutcome.Unreachable),
        };
    }

    /// <summary>
    /// Keeps a body up to the limit in memory, so the request can be sent again; true when there is no body or it was kept. A body
    /// of known length over the limit is streamed once as it comes. One of unknown length (chunked) is read up to the limit to
    /// find out: past it, it streams on, the part beyond the limit passing through ASP.NET Core's file buffer.
    /// </summary>
    private async Task<bool> KeepBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var hasBody = request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody
            ?? (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0);
        if (!hasBody || request.ContentLength == 0)
        {
            return true;
        }

        if (request.ContentLength > _options.RetryBodyLimit)
        {
            return false;
        }

        request.EnableBuffering(bufferThreshold: _options.RetryBodyLimit + 1);
        var buffer = new byte[Math.Min(_options.RetryBodyLimit + 1, 16 * 1024)];
        long read = 0;
        int chunk;
        while (read <= _options.RetryBodyLimit && (chunk = await request.Body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            read += chunk;
        }

        request.Body.Position = 0;
        return read <= _options.RetryBodyLimit;
    }

    /// <summary>The query as the caller sent it, less the function key (<c>code</c>), which is this app's and not FreshBooks' business.</summary>
    private static string ForwardedQuery(QueryString query)
    {
        if (!query.HasValue)
        {
            return "";
        }

        var kept = query.Value![1..].Split('&').Where(pair => !Uri.UnescapeDataString(pair.Split('=')[0]).Equals("code", StringComparison.OrdinalIgnoreCase)).ToList();
        return kept.Count == 0 ? "" : "?" + string.Join('&', kept);
    }
}
