namespace FreshBooks.Emulator;

/// <summary>
/// Faults the token endpoint (<c>POST /auth/oauth/token</c>) injects: queued faults go first, one per
/// call, in order; when the queue is empty a seeded random draw may pick one. API faults (<c>users/me</c>
/// and the business APIs) have a queue and a latency of their own. Thread-safe.
/// </summary>
public sealed class EmulatorFaults
{
    private readonly Lock _gate = new();
    private readonly Queue<TokenFault> _queue = new();
    private readonly List<ApiFault> _apiQueue = [];
    private Random? _random;
    private double _serverErrorRate;
    private double _tooManyRequestsRate;
    private double _dropAfterRotationRate;
    private TimeSpan _randomRetryAfter;
    private long _latencyTicks;
    private long _apiLatencyTicks;

    /// <summary>
    /// Added to every token call, in real time (Task.Delay), not emulator time. Benchmarks use 150 ms.
    /// Not a fault: <see cref="Clear"/> leaves it alone.
    /// </summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            Interlocked.Exchange(ref _latencyTicks, value.Ticks);
        }
    }

    /// <summary>
    /// Added to every API call (<c>users/me</c>, accounting, projects, time tracking), in real time, before
    /// anything else happens to it; token calls are not affected. A proxy benchmark uses 50 ms, a FreshBooks-like
    /// answer time. Not a fault: <see cref="Clear"/> leaves it alone.
    /// </summary>
    public TimeSpan ApiLatency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _apiLatencyTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            Interlocked.Exchange(ref _apiLatencyTicks, value.Ticks);
        }
    }

    /// <summary>How many queued API faults are still waiting for an API call.</summary>
    public int PendingApiCount
    {
        get { lock (_gate)
            {
                return _apiQueue.Count;
            }
        }
    }

    /// <summary>How many queued faults are still waiting for a token call.</summary>
    public int PendingCount
    {
        get { lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>The next token call not already claimed by an earlier queued fault gets this one.</summary>
    public void EnqueueToken(TokenFault fault)
    {
        ArgumentNullException.ThrowIfNull(fault);
        lock (_gate)
        {
            _queue.Enqueue(fault);
        }
    }

    /// <summary>
    /// The next API call takes this fault; one with an <see cref="ApiFault.Endpoint"/> waits for a call to that
    /// endpoint, and calls to other endpoints pass it by (they take the next fault meant for them, or none).
    /// </summary>
    public void EnqueueApi(ApiFault fault)
    {
        ArgumentNullException.ThrowIfNull(fault);
        lock (_gate)
        {
            _apiQueue.Add(fault);
        }
    }

    /// <summary>
    /// From now on, each token call with no queued fault draws from a <see cref="Random"/> seeded with
    /// <paramref name="seed"/>: a server error, a 429 (Retry-After <paramref name="retryAfter"/>, default 1 s),
    /// a drop after rotation, or nothing. The rates add up to at most 1.
    /// </summary>
    public void SetRandom(int seed, double serverErrorRate, double tooManyRequestsRate, double dropAfterRotationRate, TimeSpan? retryAfter = null)
    {
        CheckRate(serverErrorRate, nameof(serverErrorRate));
        CheckRate(tooManyRequestsRate, nameof(tooManyRequestsRate));
        CheckRate(dropAfterRotationRate, nameof(dropAfterRotationRate));
        if (serverErrorRate + tooManyRequestsRate + dropAfterRotationRate > 1.0 + 1e-9)
        {
            throw new ArgumentException("The fault rates add up to more than 1.");
        }

        lock (_gate)
        {
            _random = new Random(seed);
            _serverErrorRate = serverErrorRate;
            _tooManyRequestsRate = tooManyRequestsRate;
            _dropAfterRotationRate = dropAfterRotationRate;
            _randomRetryAfter = retryAfter ?? TimeSpan.FromSeconds(1);
        }
    }

    /// <summary>Drops queued token and API faults and stops random ones. <see cref="Latency"/> and <see cref="ApiLatency"/> are kept.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _queue.Clear();
            _apiQueue.Clear();
            _random = null;
        }
    }

    internal ApiFault? NextApiFault(EndpointKind endpoint)
    {
        lock (_gate)
        {
            // Revoke is not a bearer-token API call: it takes only the faults addressed to it.
            var index = _apiQueue.FindIndex(f => f.Endpoint == endpoint || (f.Endpoint is null && endpoint != EndpointKind.Revoke));
            if (index < 0)
            {
                return null;
            }

            var fault = _apiQueue[index];
            _apiQueue.RemoveAt(index);
            return fault;
        }
    }

    internal TokenFault? NextTokenFault()
    {
        lock (_gate)
        {
            if (_queue.TryDequeue(out var queued))
            {
                return queued;
            }

            if (_random is null)
            {
                return null;
            }

            var draw = _random.NextDouble();
            if (draw < _serverErrorRate)
            {
                return TokenFault.ServerError;
            }

            draw -= _serverErrorRate;
            if (draw < _tooManyRequestsRate)
            {
                return TokenFault.TooManyRequests(_randomRetryAfter);
            }

            draw -= _tooManyRequestsRate;
            return draw < _dropAfterRotationRate ? TokenFault.DropAfterRotation : null;
        }
    }

    private static void CheckRate(double rate, string name)
    {
        if (double.IsNaN(rate) || rate < 0 || rate > 1)
        {
            throw new ArgumentOutOfRangeException(name, rate, "A rate is between 0 and 1.");
        }
    }
}
