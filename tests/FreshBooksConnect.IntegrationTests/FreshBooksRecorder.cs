using System.Collections.Concurrent;
using FreshBooksConnect.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// Stands between the app and the FreshBooks emulator (an app's <c>FreshBooks:ApiUrl</c>) and keeps every request exactly as it
/// arrived: method, path and query, headers, body bytes; it relays each to the emulator and the answer back, keeping that too.
/// With <see cref="Hold"/> set, a request to <see cref="HoldPath"/> is answered here instead, in two parts with a wait between them,
/// after reading its body a piece at a time: a test sees whether the proxy streams each way.
/// </summary>
public sealed class FreshBooksRecorder : IAsyncDisposable
{
    private static readonly HashSet<string> NotRelayed = new(StringComparer.OrdinalIgnoreCase) { "Host", "Connection", "Transfer-Encoding", "Keep-Alive" };
    private readonly WebApplication _app;
    private readonly HttpClient _emulator;
    private readonly ConcurrentQueue<Recorded> _requests = new();

    private FreshBooksRecorder(WebApplication app, Uri emulator)
    {
        _app = app;
        _emulator = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = emulator };
    }

    public Uri BaseUri { get; private set; } = null!;

    public IReadOnlyList<Recorded> Requests => [.. _requests];

    /// <summary>The path <see cref="Hold"/> applies to.</summary>
    public string? HoldPath { get; set; }

    /// <summary>While set, a request to <see cref="HoldPath"/> is answered here: the first part, then the rest once this completes.</summary>
    public TaskCompletionSource? Hold { get; set; }

    /// <summary>A request to this path is never answered: it waits until its caller goes away (FreshBooks hanging).</summary>
    public string? StallPath { get; set; }

    /// <summary>Completes when a request to <see cref="StallPath"/> arrived.</summary>
    public TaskCompletionSource Stalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the held request's first body bytes arrived.</summary>
    public TaskCompletionSource FirstBodyBytes { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<FreshBooksRecorder> StartAsync(Uri emulator)
    {
        var app = LoopbackApp.Create();
        var recorder = new FreshBooksRecorder(app, emulator);
        app.Run(recorder.HandleAsync);
        recorder.BaseUri = await LoopbackApp.StartAsync(app);
        return recorder;
    }

    private async Task HandleAsync(HttpContext http)
    {
        var request = http.Request;
        var pathAndQuery = request.Path + request.QueryString;
        var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        if (request.Path == StallPath)
        {
            _requests.Enqueue(new Recorded(request.Method, pathAndQuery, headers, [], 0, []));
            Stalled.TrySetResult();
            await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        if (Hold is { } hold && request.Path == HoldPath)
        {
            var received = await ReadInPiecesAsync(request.Body, http.RequestAborted);
            _requests.Enqueue(new Recorded(request.Method, pathAndQuery, headers, received, 200, []));
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync("{\"response\":{\"result\":{\"first\":", http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            await hold.Task.WaitAsync(TimeSpan.FromSeconds(30), http.RequestAborted);
            await http.Response.WriteAsync("\"part\",\"second\":\"part\"}}}", http.RequestAborted);
            return;
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, http.RequestAborted);
        using var relayed = new HttpRequestMessage(new HttpMethod(request.Method), pathAndQuery.TrimStart('/'));
        if (body.Length > 0 || request.ContentLength is not null)
        {
            relayed.Content = new ByteArrayContent(body.ToArray());
        }

        foreach (var (name, value) in request.Headers.Where(h => !NotRelayed.Contains(h.Key)))
        {
            if (!relayed.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)value))
            {
                relayed.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)value);
            }
        }

        using var answer = await _emulator.SendAsync(relayed, http.RequestAborted);
        var answerBody = await answer.Content.ReadAsByteArrayAsync(http.RequestAborted);
        _requests.Enqueue(new Recorded(request.Method, pathAndQuery, headers, body.ToArray(), (int)answer.StatusCode, answerBody));
        http.Response.StatusCode = (int)answer.StatusCode;
        foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers).Where(h => !NotRelayed.Contains(h.Key)))
        {
            http.Response.Headers[name] = values.ToArray();
        }

        await http.Response.Body.WriteAsync(answerBody, http.RequestAborted);
    }

    private async Task<byte[]> ReadInPiecesAsync(Stream body, CancellationToken cancellationToken)
    {
        using var received = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            received.Write(buffer, 0, read);
            FirstBodyBytes.TrySetResult();
        }

        return received.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        _emulator.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>One request as it arrived, and the status and body relayed back (empty for a held one).</summary>
    public sealed record Recorded(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, byte[] Body, int Status, byte[] Answer);
}
