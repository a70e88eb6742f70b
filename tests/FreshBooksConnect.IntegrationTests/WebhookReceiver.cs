using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StandardWebhooks;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// A webhook receiver on a loopback port of its own, as a SaaS would run one: it verifies every delivery's signature with the
/// StandardWebhooks package and keeps what it received. A test sets how it answers: 200, an error status, a hang (the sender's
/// time-out), or not at all (stopped: connection refused) — and starts it again on the same port.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    private readonly StandardWebhook _verifier = new(Secret);
    private readonly ConcurrentQueue<Delivery> _deliveries = new();
    private readonly int _port;
    private WebApplication? _app;

    private WebhookReceiver(int port) => _port = port;

    /// <summary>What the receiver answers: a status, or <see cref="Hang"/> (never answers).</summary>
    public int Answer { get; set; } = StatusCodes.Status200OK;

    public const int Hang = -1;

    public Uri Url => new($"http://127.0.0.1:{_port}/webhooks/freshbooks");

    /// <summary>Every delivery that reached the receiver, in arrival order, with whether its signature verified.</summary>
    public IReadOnlyList<Delivery> Deliveries => [.. _deliveries];

    /// <summary>The events it acknowledged (answered 2xx), in arrival order.</summary>
    public IReadOnlyList<Delivery> Acknowledged => [.. _deliveries.Where(d => d.Acknowledged)];

    public static async Task<WebhookReceiver> StartAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var receiver = new WebhookReceiver(port);
        await receiver.RestartAsync();
        return receiver;
    }

    /// <summary>Stops listening: senders get connection refused.</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public async Task RestartAsync()
    {
        if (_app is not null)
        {
            return;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{_port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/webhooks/freshbooks", ReceiveAsync);
        await app.StartAsync();
        _app = app;
    }

    /// <summary>Waits until the receiver acknowledged <paramref name="count"/> deliveries (or fails after <paramref name="timeout"/>).</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<Delivery>, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done(Acknowledged))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the receiver did not get what was expected within {timeout}; it acknowledged: {string.Join(", ", Acknowledged.Select(d => d.Type))}");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>
    /// The signature check of <see cref="StandardWebhook.Verify"/>, without its comparison of <c>webhook-timestamp</c> with this
    /// machine's clock: the app under test runs on a clock the tests move hours ahead.
    /// </summary>
    private bool Verify(string payload, IHeaderDictionary headers)
    {
        if (!long.TryParse(headers["webhook-timestamp"], out var seconds) || headers["webhook-id"].ToString() is not { Length: > 0 } id)
        {
            return false;
        }

        var expected = _verifier.Sign(id, DateTimeOffset.FromUnixTimeSeconds(seconds), payload);
        return headers["webhook-signature"].ToString().Split(' ').Any(signature => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), Encoding.ASCII.GetBytes(expected)));
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var payload = await reader.ReadToEndAsync();
        var verified = Verify(payload, context.Request.Headers);

        var answer = Answer;
        if (answer == Hang)
        {
            _deliveries.Enqueue(Delivery.Of(payload, context, verified, acknowledged: false));
            await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        _deliveries.Enqueue(Delivery.Of(payload, context, verified, acknowledged: answer is >= 200 and < 300));
        context.Response.StatusCode = answer;
    }

    /// <summary>One POST as it arrived.</summary>
    public sealed record Delivery(string WebhookId, string Id, string Type, string ConnectionId, string Payload, bool Verified, bool Acknowledged)
    {
        public JsonElement Data => JsonDocument.Parse(Payload).RootElement.GetProperty("data");

        internal static Delivery Of(string payload, HttpContext context, bool verified, bool acknowledged)
        {
            var root = JsonDocument.Parse(payload).RootElement;
            return new Delivery(
                context.Request.Headers["webhook-id"].ToString(),
                root.GetProperty("id").GetString()!,
                root.GetProperty("type").GetString()!,
                root.GetProperty("data").GetProperty("connectionId").GetString()!,
                payload,
                verified,
                acknowledged);
        }
    }
}
