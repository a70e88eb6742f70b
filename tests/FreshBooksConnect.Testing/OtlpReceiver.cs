using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

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

    private OtlpReceiver(WebApplication app)
    {
        _app = app;
    }

    public Uri Endpoint { get; private set; } = null!;

    public IReadOnlyList<Export> Exports => [.. _exports];

    public static async Task<OtlpReceiver> StartAsync(Action<Export>? onExport = null)
    {
        var app = LoopbackApp.Create();
        var receiver = new OtlpReceiver(app);
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
        receiver.Endpoint = await LoopbackApp.StartAsync(app);
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
