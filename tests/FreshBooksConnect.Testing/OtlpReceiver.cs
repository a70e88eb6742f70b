using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.Testing;

/// <summary>
/// An OTLP/HTTP collector on a loopback port of its own, as a developer would run one: it answers 200 to every export and keeps
/// each request's signal, content type and body, so a test sees what went over the wire. Several senders can share it, each with
/// its own endpoint path (<c>{Endpoint}/{source}</c>); a long run passes <c>onExport</c> and keeps nothing.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<Export> _exports = new();
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app, Uri endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    public IReadOnlyList<Export> Exports => [.. _exports];

    public static async Task<OtlpReceiver> StartAsync(Action<Export>? onExport = null)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app, new Uri($"http://127.0.0.1:{port}"));
        async Task<IResult> ReceiveAsync(HttpContext context, string source, string signal)
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var export = new Export(source, signal, context.Request.ContentType ?? "", body.ToArray());
            if (onExport is null)
            {
                receiver._exports.Enqueue(export);
            }
            else
            {
                onExport(export);
            }

            return Results.Ok();
        }

        app.MapPost("/v1/{signal}", (HttpContext context, string signal) => ReceiveAsync(context, "", signal));
        app.MapPost("/{source}/v1/{signal}", ReceiveAsync);
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>One export request: its sender's path (empty at the root), <c>traces</c>, <c>metrics</c> or <c>logs</c>, and its protobuf body.</summary>
    public sealed record Export(string Source, string Signal, string ContentType, byte[] Body);
}
