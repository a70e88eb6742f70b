using System.Collections.Concurrent;
using System.Globalization;
using FreshBooks.Emulator;

namespace FreshBooksConnect.Soak;

/// <summary>The faults a soak injects on its schedule (the steady ones, random FreshBooks and storage errors, run throughout).</summary>
internal enum FaultKind
{
    StorageOutage,
    FreshBooksDropsAnswer,
    AnswerWithoutPair,
    OddAnswer,
    FreshBooksLatency,
    SlowRefresh,
    LongRetryAfter,
    GrantRevoked,
    InstanceKilled,
    InstanceStopped,
    KilledMidRefresh,
    Reconsent,
    Delete,
}

/// <summary>One scheduled fault: when (from the start of the faults) and what.</summary>
internal sealed record ScheduledFault(TimeSpan At, FaultKind Kind, int Draw);

/// <summary>
/// Injects every fault at once on a schedule drawn from the seed: storage outages (Azurite stopped, then started again with its
/// data), storage answers dropped after the write landed, FreshBooks errors, throttling, latency, dropped and odd answers,
/// revoked grants, app instances killed and stopped (also in the middle of a refresh), reconsents and deletes. The seed fixes
/// the schedule and every choice drawn from it; which request meets which fault also depends on timing, so two runs with one
/// seed inject the same faults without being identical.
/// </summary>
internal sealed class Chaos(SoakStack stack, Customers customers)
{
    /// <summary>Mean time between two faults of a kind; each kind also comes once early in any run (see <see cref="Schedule"/>).</summary>
    private static readonly Dictionary<FaultKind, double> MeanSeconds = new()
    {
        [FaultKind.StorageOutage] = 150,
        [FaultKind.FreshBooksDropsAnswer] = 100,
        [FaultKind.AnswerWithoutPair] = 140,
        [FaultKind.OddAnswer] = 12,
        [FaultKind.FreshBooksLatency] = 90,
        [FaultKind.SlowRefresh] = 40,
        [FaultKind.LongRetryAfter] = 60,
        [FaultKind.GrantRevoked] = 100,
        [FaultKind.InstanceKilled] = 80,
        [FaultKind.InstanceStopped] = 100,
        [FaultKind.KilledMidRefresh] = 90,
        [FaultKind.Reconsent] = 25,
        [FaultKind.Delete] = 120,
    };

    /// <summary>The shapes of a 200 that carries a usable pair (the app must keep it); NotJson and RefreshTokenMissing lose it.</summary>
    private static readonly TokenAnswerShape[] UsableShapes =
        [.. Enum.GetValues<TokenAnswerShape>().Where(s => s is not TokenAnswerShape.NotJson and not TokenAnswerShape.RefreshTokenMissing)];

    private readonly ConcurrentDictionary<string, int> _injected = new();
    private readonly ConcurrentQueue<string> _events = new();
    private readonly SemaphoreSlim _outage = new(1, 1);
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly List<TimeSpan> _outages = [];
    private DateTimeOffset _start;

    /// <summary>How many of each fault went in, by a name for the report.</summary>
    public IReadOnlyDictionary<string, int> Injected => _injected;

    /// <summary>What happened when, for the report's log.</summary>
    public IReadOnlyCollection<string> Events => _events;

    public IReadOnlyList<TimeSpan> Outages
    {
        get
        {
            lock (_outages)
            {
                return [.. _outages];
            }
        }
    }

    /// <summary>Every kind once in the first 80% of the run, then again about every mean interval, at seeded times.</summary>
    public static IReadOnlyList<ScheduledFault> Schedule(int seed, TimeSpan duration)
    {
        var random = new Random(seed);
        var faults = new List<ScheduledFault>();
        foreach (var (kind, mean) in MeanSeconds)
        {
            var at = TimeSpan.FromSeconds((0.05 + (0.75 * random.NextDouble())) * Math.Min(mean, duration.TotalSeconds));
            while (at < duration)
            {
                faults.Add(new ScheduledFault(at, kind, random.Next()));
                at += TimeSpan.FromSeconds(mean * (0.5 + random.NextDouble()));
            }
        }

        return [.. faults.OrderBy(f => f.At)];
    }

    /// <summary>Runs the schedule and the steady faults until <paramref name="duration"/> has passed; returns once every fault is over.</summary>
    public async Task RunAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        _start = DateTimeOffset.UtcNow;
        var seed = stack.Options.Seed;

        // Steady: FreshBooks answers 5xx and 429 now and then, storage drops a share of write answers, and the API tells a valid
        // token 401 every few seconds (as if it was killed elsewhere), which sends callers to the 401-refresh route.
        stack.Emulator.Faults.SetRandom(seed, serverErrorRate: 0.04, tooManyRequestsRate: 0.03, dropAfterRotationRate: 0, retryAfter: TimeSpan.FromSeconds(1));
        stack.Tables.DropRate = 0.02;
        using var steady = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var apiFaults = ApiFaultsAsync(new Random(seed ^ 0x5eed), steady.Token);

        var running = new List<Task>();
        foreach (var fault in Schedule(seed, duration))
        {
            var wait = _start + fault.At - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }

            running.Add(InjectAsync(fault, cancellationToken));
        }

        var left = _start + duration - DateTimeOffset.UtcNow;
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left, cancellationToken);
        }

        await steady.CancelAsync();
        await apiFaults;
        await Task.WhenAll(running);
        stack.Emulator.Faults.Clear();
        stack.Emulator.Faults.Latency = TimeSpan.Zero;
        stack.Emulator.Faults.ApiLatency = TimeSpan.Zero;
        stack.Tables.DropRate = 0;
        Count($"storage answers dropped after the write landed (of {stack.Tables.Forwarded} table requests; {stack.Tables.Refused} cut while storage was down)", stack.Tables.AnswersDropped);
        var calls = stack.Emulator.Calls;
        Count("FreshBooks 503 (random)", calls.Count(c => c.Fault == TokenFaultKind.ServerError));
        Count("FreshBooks 429 with Retry-After (random and scheduled)", calls.Count(c => c.Fault == TokenFaultKind.TooManyRequests));
        Count("FreshBooks API 401 to a valid token", calls.Count(c => c.ApiFault == ApiFaultKind.Unauthorized));
        Count("app start-ups that exited (storage was down; started again until one answered)", stack.FailedStarts);
    }

    private async Task InjectAsync(ScheduledFault fault, CancellationToken cancellationToken)
    {
        var random = new Random(fault.Draw);
        try
        {
            switch (fault.Kind)
            {
                case FaultKind.StorageOutage:
                    await OutageAsync(TimeSpan.FromSeconds(3 + (57 * random.NextDouble())), cancellationToken);
                    break;
                case FaultKind.FreshBooksDropsAnswer:
                    stack.Emulator.Faults.EnqueueToken(TokenFault.DropAfterRotation);
                    Count("FreshBooks answers dropped after rotation (DropAfterRotation)", 1);
                    Note("FreshBooks drops its next token answer after rotating (DropAfterRotation)");
                    break;
                case FaultKind.AnswerWithoutPair:
                    var lost = random.Next(2) == 0 ? TokenAnswerShape.NotJson : TokenAnswerShape.RefreshTokenMissing;
                    stack.Emulator.Faults.EnqueueToken(TokenFault.OddAnswer(lost));
                    Count("FreshBooks 200s without a usable pair (NotJson, RefreshTokenMissing)", 1);
                    Note($"FreshBooks answers its next token call 200 without a usable pair ({lost})");
                    break;
                case FaultKind.OddAnswer:
                    var shape = UsableShapes[random.Next(UsableShapes.Length)];
                    stack.Emulator.Faults.EnqueueToken(TokenFault.OddAnswer(shape));
                    Count("FreshBooks odd-but-valid 200s", 1);
                    break;
                case FaultKind.FreshBooksLatency:
                    await LatencyAsync(TimeSpan.FromMilliseconds(300 + random.Next(2500)), TimeSpan.FromSeconds(10 + random.Next(30)), cancellationToken);
                    break;
                case FaultKind.SlowRefresh:
                    // Past FreshBooks__Timeout (5 s) the app gives up; FreshBooks processes a delayed call only if it is still there.
                    var slow = random.Next(3) == 0 ? TokenFault.Timeout : TokenFault.Delay(TimeSpan.FromSeconds(1 + (7 * random.NextDouble())));
                    stack.Emulator.Faults.EnqueueToken(slow);
                    Count(slow.Kind == TokenFaultKind.Timeout ? "FreshBooks token call held until the app gives up" : "FreshBooks token call delayed 1-8 s", 1);
                    break;
                case FaultKind.LongRetryAfter:
                    stack.Emulator.Faults.EnqueueToken(TokenFault.TooManyRequests(TimeSpan.FromSeconds(4 + random.Next(8))));
                    Count("FreshBooks 429 with a Retry-After longer than the app waits inline", 1);
                    break;
                case FaultKind.GrantRevoked:
                    var revoked = customers.Pick(random);
                    if (revoked.Connected && !revoked.Deleted && await customers.RevokeAtFreshBooksAsync(revoked, cancellationToken))
                    {
                        Note($"grant of {revoked.ConnectionId} revoked at FreshBooks (invalid_grant from now on)");
                    }

                    break;
                case FaultKind.InstanceKilled:
                    await LifecycleAsync(random, kill: true, cancellationToken);
                    break;
                case FaultKind.InstanceStopped:
                    await LifecycleAsync(random, kill: false, cancellationToken);
                    break;
                case FaultKind.KilledMidRefresh:
                    await KillMidRefreshAsync(random, cancellationToken);
                    break;
                case FaultKind.Reconsent:
                    // Mostly the connections that need it (the SaaS was told by a 409); now and then a working one (a customer
                    // consenting again).
                    var candidates = customers.All.Where(c => c.Deleted || !c.Connected || c.ToldToReconsent).ToList();
                    var customer = candidates.Count > 0 && random.Next(3) > 0 ? candidates[random.Next(candidates.Count)] : customers.Pick(random);
                    var connected = await customers.ConsentAsync(customer.TenantId, random, cancellationToken);
                    Note($"reconsent of {customer.ConnectionId}: {(connected ? "connected" : "not connected (tried again later)")}");
                    Count(connected ? "reconsents through Start and Callback" : "reconsents refused or cut short", 1);
                    break;
                case FaultKind.Delete:
                    var doomed = customers.Pick(random);
                    if (doomed.Connected && !doomed.Deleted)
                    {
                        Count("deletes", 1);
                        await customers.RemoveAsync(doomed, random, cancellationToken);
                        Note($"{doomed.ConnectionId} deleted{(doomed.RemovalPending ? " (not finished yet)" : "")}");
                    }

                    break;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The soak is stopping.
        }
    }

    /// <summary>Azurite stopped (it keeps its data on disk) and started again on the same ports; one outage at a time.</summary>
    /// <summary>Azurite started again, however many tries it takes: an outage may run long on a loaded machine, never forever.</summary>
    private async Task RestartStorageAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await stack.Azurite.RestartAsync(CancellationToken.None);
                return;
            }
            catch (InvalidOperationException ex) when (attempt < 20)
            {
                Note($"Azurite did not come back (try {attempt}): {ex.Message.Split(Environment.NewLine)[0]}; trying again in 5 s");
                Count("Azurite restarts that failed and were tried again", 1);
                await Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None);
            }
        }
    }

    private async Task OutageAsync(TimeSpan length, CancellationToken cancellationToken)
    {
        if (!await _outage.WaitAsync(0, cancellationToken))
        {
            return;
        }

        try
        {
            Note($"storage outage: Azurite stopped for {length.TotalSeconds:0} s");
            await stack.Azurite.StopAsync();
            try
            {
                await Task.Delay(length, cancellationToken);
            }
            finally
            {
                await RestartStorageAsync();
                Note("storage back");
                lock (_outages)
                {
                    _outages.Add(length);
                }

                Count("storage outages (Azurite stopped and restarted)", 1);
            }
        }
        finally
        {
            _outage.Release();
        }
    }

    private async Task LatencyAsync(TimeSpan latency, TimeSpan length, CancellationToken cancellationToken)
    {
        Note($"FreshBooks latency {latency.TotalMilliseconds:0} ms on every token and API call for {length.TotalSeconds:0} s");
        Count("FreshBooks latency windows", 1);
        stack.Emulator.Faults.Latency = latency;
        stack.Emulator.Faults.ApiLatency = latency;
        try
        {
            await Task.Delay(length, cancellationToken);
        }
        finally
        {
            stack.Emulator.Faults.Latency = TimeSpan.Zero;
            stack.Emulator.Faults.ApiLatency = TimeSpan.Zero;
        }
    }

    /// <summary>SIGKILL or SIGTERM to a running instance (never the last one), then a start again after a few seconds.</summary>
    private async Task LifecycleAsync(Random random, bool kill, CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        AppInstance? instance;
        try
        {
            var up = stack.Instances.Where(i => i.IsUp).ToList();
            if (up.Count < 2)
            {
                return;
            }

            instance = up[random.Next(up.Count)];
            if (kill)
            {
                await instance.KillAsync();
                Note($"app{instance.Index} killed (SIGKILL)");
                Count("app instances killed (SIGKILL)", 1);
            }
            else
            {
                var graceful = await instance.StopAsync();
                Note($"app{instance.Index} stopped (SIGTERM){(graceful ? "" : ": it did not exit in time and was killed")}");
                Count("app instances stopped (SIGTERM)", 1);
            }
        }
        finally
        {
            _lifecycle.Release();
        }

        await Task.Delay(TimeSpan.FromSeconds(kill ? 2 + random.Next(13) : 1 + random.Next(5)), CancellationToken.None);
        await RestartAsync(instance);
    }

    private async Task KillMidRefreshAsync(Random random, CancellationToken cancellationToken)
    {
        var point = (KillPoint)random.Next(3);
        var up = stack.Instances.Where(i => i.IsUp).Select(i => i.Index).ToHashSet();
        if (up.Count < 2)
        {
            return;
        }

        // Any running instance but one (chosen at random) may take it, so one stays up.
        up.Remove(up.ElementAt(random.Next(up.Count)));
        int? killed;
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            killed = await stack.FreshBooks.KillOnNextRefreshAsync(point, up, TimeSpan.FromSeconds(30));
        }
        finally
        {
            _lifecycle.Release();
        }

        if (killed is not { } index)
        {
            return;
        }

        Note($"app{index} killed in the middle of a refresh ({point})");
        Count($"app instances killed mid-refresh ({point})", 1);
        await Task.Delay(TimeSpan.FromSeconds(2 + random.Next(8)), CancellationToken.None);
        await RestartAsync(stack.Instances[index]);
    }

    private async Task RestartAsync(AppInstance instance)
    {
        try
        {
            await stack.RestartAsync(instance, CancellationToken.None);
            Note($"app{instance.Index} started again");
        }
        catch (InvalidOperationException e)
        {
            Note($"app{instance.Index} did not start again: {e.Message}");
        }
    }

    private async Task ApiFaultsAsync(Random random, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(1500 + random.Next(3000)), cancellationToken);
                stack.Emulator.Faults.EnqueueApi(random.Next(10) switch
                {
                    0 => ApiFault.ServerError,
                    1 => ApiFault.TooManyRequests(TimeSpan.FromSeconds(2)),
                    _ => ApiFault.Unauthorized,
                });
            }
        }
        catch (OperationCanceledException)
        {
            // The faults are over.
        }
    }

    private void Count(string what, int by) => _injected.AddOrUpdate(what, by, (_, n) => n + by);

    private void Note(string what) =>
        _events.Enqueue($"{(DateTimeOffset.UtcNow - _start).TotalSeconds.ToString("0", CultureInfo.InvariantCulture),5} s  {what}");
}
