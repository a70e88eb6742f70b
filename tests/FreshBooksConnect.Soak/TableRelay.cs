using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FreshBooksConnect.Soak;

/// <summary>
/// Stands between the app instances and Azurite's table service: passes every request on, and for a seeded share of the writes
/// lets the write land and then cuts the connection before the answer, so the storage client retries a write that already
/// happened (the way a lost answer looks in production). While Azurite is down it cuts every connection (a transport failure).
/// </summary>
internal sealed class TableRelay(int port, Uri azuriteTables, int seed) : IAsyncDisposable
{
    private readonly HttpClient _client = HttpForwarding.CreateClient();
    private readonly Random _random = new(seed);
    private readonly Lock _gate = new();
    private WebApplication? _app;
    private double _dropRate;
    private int _dropped;
    private int _forwarded;
    private int _refused;

    public int Port { get; } = port;

    /// <summary>Writes whose answer was dropped after they landed.</summary>
    public int AnswersDropped => Volatile.Read(ref _dropped);

    public int Forwarded => Volatile.Read(ref _forwarded);

    /// <summary>Requests cut because Azurite did not answer (an outage).</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>The share of writes (POST, PUT, PATCH, MERGE, DELETE) whose answer is dropped.</summary>
    public double DropRate
    {
        get
        {
            lock (_gate)
            {
                return _dropRate;
            }
        }

        set
        {
            lock (_gate)
            {
                _dropRate = value;
            }
        }
    }

    public async Task StartAsync()
    {
        _app = HttpForwarding.CreateRelayApp([Port]);
        _app.Run(RelayAsync);
        await _app.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _client.Dispose();
    }

    private async Task RelayAsync(HttpContext context)
    {
        var drop = IsWrite(context.Request.Method) && Draw();
        ForwardedAnswer answer;
        try
        {
            var body = await HttpForwarding.ReadBodyAsync(context.Request, context.RequestAborted);
            answer = await HttpForwarding.SendAsync(_client, azuriteTables, context.Request, body, context.RequestAborted);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            Interlocked.Increment(ref _refused);
            context.Abort();
            return;
        }

        using (answer.Message)
        {
            Interlocked.Increment(ref _forwarded);
            if (drop)
            {
                Interlocked.Increment(ref _dropped);
                context.Abort();
                return;
            }

            await HttpForwarding.WriteAsync(context, answer);
        }
    }

    private bool Draw()
    {
        lock (_gate)
        {
            return _dropRate > 0 && _random.NextDouble() < _dropRate;
        }
    }

    private static bool IsWrite(string method) =>
        HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method) || method == "MERGE";
}
