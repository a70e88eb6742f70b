using System.Net.Sockets;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>
/// Storage failures the way production has them, injected into one app instance's storage clients below the SDK's retry
/// policy (so the SDK retries them as it would a real failure): connections refused while the instance is cut off from
/// storage, answers lost after the write landed, and random transport failures and time-outs.
/// </summary>
public sealed class StorageFaults : HttpPipelinePolicy
{
    private readonly Lock _gate = new();
    private readonly List<(Func<Request, bool> Matches, int Remaining)> _drops = [];
    private readonly List<Func<Request, bool>> _refused = [];
    private Random? _random;
    private double _refuseRate;
    private double _timeoutRate;
    private double _dropRate;
    private volatile bool _partitioned;

    /// <summary>Requests that were sent and whose answer this policy threw away.</summary>
    public int AnswersDropped { get; private set; }

    /// <summary>Requests refused or timed out by this policy (never sent).</summary>
    public int RequestsFailed { get; private set; }

    /// <summary>Adds this policy to the storage clients of the app whose services these are.</summary>
    public void AddTo(IServiceCollection services) =>
        services.Configure<StorageOptions>(o => o.ConfigureClients += options => options.AddPolicy(this, HttpPipelinePosition.PerRetry));

    /// <summary>From now on every request fails as if storage refused connections, until <see cref="Heal"/>.</summary>
    public void Partition() => _partitioned = true;

    public void Heal() => _partitioned = false;

    /// <summary>The next <paramref name="times"/> requests that match are sent, and then their answers are lost.</summary>
    public void DropAnswer(Func<Request, bool> matches, int times = 1)
    {
        lock (_gate)
        {
            _drops.Add((matches, times));
        }
    }

    /// <summary>From now on every request that matches is refused, as if storage could not be reached for it.</summary>
    public void Fail(Func<Request, bool> matches)
    {
        lock (_gate)
        {
            _refused.Add(matches);
        }
    }

    /// <summary>Each request, with a seeded draw: refused, timed out (never sent), or sent with its answer lost.</summary>
    public void SetRandom(int seed, double refuseRate, double timeoutRate, double dropRate)
    {
        lock (_gate)
        {
            (_random, _refuseRate, _timeoutRate, _dropRate) = (new Random(seed), refuseRate, timeoutRate, dropRate);
        }
    }

    public void ClearRandom()
    {
        lock (_gate)
        {
            _random = null;
        }
    }

    /// <summary>A request to <paramref name="table"/> (or <c>$batch</c>) with <paramref name="method"/>.</summary>
    public static Func<Request, bool> To(string table, RequestMethod method) =>
        request => request.Method == method && request.Uri.Path.Split('/', StringSplitOptions.RemoveEmptyEntries)[^1].Split('(')[0] == table;

    /// <summary>A request to the renewal queue's messages (an enqueue).</summary>
    public static Func<Request, bool> Enqueue() => EnqueueTo(StorageOptions.RenewalQueueName);

    /// <summary>An enqueue to <paramref name="queueName"/>.</summary>
    public static Func<Request, bool> EnqueueTo(string queueName) =>
        request => request.Method == RequestMethod.Post && request.Uri.Path.EndsWith($"/{queueName}/messages", StringComparison.Ordinal);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        throw new NotSupportedException("The product's storage calls are asynchronous.");

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var fault = Decide(message.Request);
        switch (fault)
        {
            case Fault.Refuse:
                throw new RequestFailedException("Connection refused (injected)", new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused)));
            case Fault.Timeout:
                // What the SDK's network time-out raises: a cancellation the caller did not ask for.
                throw new TaskCanceledException("The operation was cancelled because it exceeded the configured timeout (injected).");
        }

        await ProcessNextAsync(message, pipeline);
        if (fault == Fault.DropAnswer)
        {
            lock (_gate)
            {
                AnswersDropped++;
            }

            throw new IOException("The response ended prematurely (answer dropped after the request landed; injected).");
        }
    }

    private Fault Decide(Request request)
    {
        lock (_gate)
        {
            if (_partitioned || _refused.Any(matches => matches(request)))
            {
                RequestsFailed++;
                return Fault.Refuse;
            }

            for (var i = 0; i < _drops.Count; i++)
            {
                if (_drops[i].Matches(request))
                {
                    _drops[i] = (_drops[i].Matches, _drops[i].Remaining - 1);
                    if (_drops[i].Remaining == 0)
                    {
                        _drops.RemoveAt(i);
                    }

                    return Fault.DropAnswer;
                }
            }

            if (_random is null)
            {
                return Fault.None;
            }

            var draw = _random.NextDouble();
            var fault = draw < _refuseRate ? Fault.Refuse
                : draw < _refuseRate + _timeoutRate ? Fault.Timeout
                : draw < _refuseRate + _timeoutRate + _dropRate ? Fault.DropAnswer
                : Fault.None;
            if (fault is Fault.Refuse or Fault.Timeout)
            {
                RequestsFailed++;
            }

            return fault;
        }
    }

    private enum Fault
    {
        None,
        Refuse,
        Timeout,
        DropAnswer,
    }
}
