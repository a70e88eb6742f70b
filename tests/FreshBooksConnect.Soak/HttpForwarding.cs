using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Soak;

/// <summary>An answer read in full from the service behind a relay.</summary>
internal sealed record ForwardedAnswer(int Status, HttpResponseMessage Message, byte[] Body);

/// <summary>
/// Passing one HTTP request on to the service behind a relay and its answer back, unchanged; the relays decide what else happens
/// (an answer dropped, a token pair recorded). Hop-by-hop headers stay behind.
/// </summary>
internal static class HttpForwarding
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Upgrade", "Proxy-Connection", "Expect", "Content-Length",
    };

    /// <summary>A client for relays: no proxy, no cookies, no redirects, no decompression; the caller's cancellation is the only time-out.</summary>
    public static HttpClient CreateClient() => new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>A Kestrel app for a relay on the given loopback ports, quiet (its own log would only be noise).</summary>
    public static WebApplication CreateRelayApp(IEnumerable<int> ports)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls([.. ports.Select(p => $"http://127.0.0.1:{p}")]);
        return builder.Build();
    }

    public static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    /// <summary>Sends the request to <paramref name="upstream"/>; throws what the client throws when the service cuts the connection.</summary>
    public static async Task<ForwardedAnswer> SendAsync(HttpClient client, Uri upstream, HttpRequest request, byte[] body, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(upstream, request.Path.Value + request.QueryString.Value));
        if (body.Length > 0 || HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method) || HttpMethods.IsPatch(request.Method))
        {
            message.Content = new ByteArrayContent(body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                message.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        var answer = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        try
        {
            // Once FreshBooks (or storage) has answered, the answer is read whatever the caller does: it may hold a token pair.
            var bytes = await answer.Content.ReadAsByteArrayAsync(CancellationToken.None);
            return new ForwardedAnswer((int)answer.StatusCode, answer, bytes);
        }
        catch
        {
            answer.Dispose();
            throw;
        }
    }

    public static async Task WriteAsync(HttpContext context, ForwardedAnswer answer)
    {
        var response = context.Response;
        response.StatusCode = answer.Status;
        foreach (var (name, values) in answer.Message.Headers.Concat(answer.Message.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                response.Headers[name] = values.ToArray();
            }
        }

        response.ContentLength = answer.Body.Length;
        await response.Body.WriteAsync(answer.Body, context.RequestAborted);
        await response.CompleteAsync();
    }
}
