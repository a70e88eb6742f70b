using System.Diagnostics;
using System.Net;
using FreshBooksConnect.FreshBooks;
using Yarp.ReverseProxy.Forwarder;

namespace FreshBooksConnect.Proxy.Internal;

/// <summary>
/// The pooled connections the proxy sends through, set up as YARP's docs advise for <see cref="IHttpForwarder"/>: no proxy, no
/// redirects, no decompression (bodies pass through as FreshBooks sent them), no cookies; connecting may take
/// <c>FreshBooks__Timeout</c>; connections are renewed every few minutes so a DNS change reaches them.
/// </summary>
internal sealed class ProxyHttpInvoker : HttpMessageInvoker
{
    public ProxyHttpInvoker(FreshBooksOptions options)
        : base(
            new SocketsHttpHandler
            {
                UseProxy = false,
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                EnableMultipleHttp2Connections = true,
                ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
                ConnectTimeout = options.Timeout,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            },
            disposeHandler: true)
    {
    }
}
