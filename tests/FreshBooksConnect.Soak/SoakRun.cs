using System.Diagnostics;
using System.Globalization;
using System.Text;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Storage;

namespace FreshBooksConnect.Soak;

/// <summary>The outcome of a soak: every invariant with its figures, and the report as printed.</summary>
public sealed record SoakReport(bool Passed, string Text);

/// <summary>
/// One soak: start the stack, onboard the connections, run the faults and the traffic together for the chosen time, then
/// settle (no faults, every instance up, storage up, traffic on) until every connection renewed once more, and check the
/// invariants. Progress and the report go to <paramref name="output"/>.
/// </summary>
public sealed class SoakRun(SoakOptions options, TextWriter output)
{
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(30);

    /// <summary>The running stack, for <see cref="KillEverything"/>.</summary>
    private volatile SoakStack? _stack;

    /// <summary>Runs the soak; the stack is stopped and cleaned up however it ends (<see cref="KillEverything"/> for a signal).</summary>
    public async Task<SoakReport> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        Say($"soak: seed {options.Seed}, {options.Duration.TotalMinutes:0.##} minutes of faults, {options.Instances} app instances, {options.Connections} connections, " +
            $"token life {options.TokenLife.TotalSeconds:0} s; logs in {options.LogDirectory}");
        await using var stack = await SoakStack.StartAsync(options, cancellationToken);
        _stack = stack;
        try
        {
            return await RunCoreAsync(stack, clock, cancellationToken);
        }
        finally
        {
            _stack = null;
            foreach (var instance in stack.Instances.Where(i => i.IsUp))
            {
                await instance.StopAsync();
            }
        }
    }

    /// <summary>For a signal handler: kills every app instance and Azurite at once, so nothing is left running.</summary>
    public void KillEverything()
    {
        if (_stack is { } stack)
        {
            stack.KillAllNow();
            _ = stack.Azurite.DisposeAsync().AsTask();
        }
    }

    private async Task<SoakReport> RunCoreAsync(SoakStack stack, Stopwatch clock, CancellationToken cancellationToken)
    {
        var customers = new Customers(stack);
        var seeded = new Random(options.Seed);
        await OnboardAsync(customers, cancellationToken);
        Say($"{clock.Elapsed:mm\\:ss} onboarded {customers.Consents} connections; faults start");

        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var snapshots = SnapshotsAsync(stack, watching.Token);
        var chaos = new Chaos(stack, customers);
        var invariants = new Invariants(stack, customers);
        using (var traffic = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var callers = StartCallers(stack, customers, settling: false, traffic.Token);
            var progress = ProgressAsync(stack, invariants, clock, traffic.Token);
            await chaos.RunAsync(options.Duration, cancellationToken);
            await traffic.CancelAsync();
            await Task.WhenAll(callers.Append(progress));
        }

        Say($"{clock.Elapsed:mm\\:ss} faults stopped; settling: every instance and storage up, removals finished, every connection renewed once more");
        var settledFrom = DateTimeOffset.UtcNow;
        var (final, lost) = await SettleAsync(stack, customers, seeded, settledFrom, clock, cancellationToken);
        await watching.CancelAsync();
        await snapshots;

        var results = new[]
        {
            invariants.ReusedRefreshTokens(),
            invariants.EveryOtherConnectionWorks(final, lost, settledFrom),
            invariants.NoServerErrors(),
            invariants.NoOrphanGrants(final),
            invariants.NoSecretsInLogs(),
            invariants.NoDeadTokenServed(),
            await invariants.EventsTellEveryEndStateAsync(final, TimeSpan.FromSeconds(90), cancellationToken),
        };
        return Report(stack, customers, chaos, results, clock.Elapsed);
    }

    private async Task OnboardAsync(Customers customers, CancellationToken cancellationToken)
    {
        var tenants = Enumerable.Range(0, options.Connections).Select(i => $"soak-{i:000}").ToList();
        await Parallel.ForEachAsync(tenants, new ParallelOptions { MaxDegreeOfParallelism = 3, CancellationToken = cancellationToken }, async (tenant, ct) =>
        {
            var mine = new Random(tenant.GetHashCode(StringComparison.Ordinal) ^ options.Seed);
            for (var attempt = 0; !await customers.ConsentAsync(tenant, mine, ct); attempt++)
            {
                if (attempt == 5)
                {
                    throw new InvalidOperationException($"onboarding {tenant} failed 6 times before any fault was injected; see {options.LogDirectory}");
                }

                await Task.Delay(1000, ct);
            }
        });
    }

    private List<Task> StartCallers(SoakStack stack, Customers customers, bool settling, CancellationToken cancellationToken) =>
        [.. Callers.Roster(settling).Select((caller, i) => Task.Run(async () =>
        {
            try
            {
                await caller.RunAsync(stack, customers, new Random(HashCode.Combine(options.Seed, i, settling)), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Traffic stops with the phase.
            }
        }, CancellationToken.None))];

    /// <summary>
    /// Faults off, storage and every instance up, unfinished removals finished. The connections the faults cost (needing a new
    /// consent then: returned as they stood, for their causes to be checked) are consented again, as the SaaS, told by their
    /// needs_reconsent events, would ask its customers. Traffic goes on until every stored connection is settled: active and
    /// renewed since the faults stopped (with a token FreshBooks accepts), or needing a new consent. Bounded by a lease, the save
    /// time-out and three token lives (an instance killed holding a lease keeps its connection in doubt that long).
    /// </summary>
    private async Task<(List<FinalConnection> Final, List<Connection> Lost)> SettleAsync(SoakStack stack, Customers customers, Random random, DateTimeOffset settledFrom, Stopwatch clock, CancellationToken cancellationToken)
    {
        await stack.Azurite.RestartAsync(cancellationToken);
        foreach (var instance in stack.Instances.Where(i => !i.IsUp))
        {
            await stack.RestartAsync(instance, cancellationToken);
        }

        foreach (var pending in customers.All.Where(c => c.RemovalPending))
        {
            using var removal = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            removal.CancelAfter(TimeSpan.FromMinutes(2));
            await customers.RemoveAsync(pending, random, removal.Token);
        }

        var lost = new List<Connection>();
        await ReconsentLostAsync(stack, customers, random, lost, cancellationToken);
        var deadline = DateTimeOffset.UtcNow + SoakStack.LeaseDuration + SoakStack.SaveTimeout + (3 * options.TokenLife);
        using var traffic = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var callers = StartCallers(stack, customers, settling: true, traffic.Token);
        List<Connection> rows = [];
        while (true)
        {
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
            rows = await ReadAllAsync(stack, cancellationToken) ?? rows;

            // A pair lost before the faults stopped shows when the connection is next refreshed: that customer is asked too.
            if (await ReconsentLostAsync(stack, customers, random, lost, cancellationToken))
            {
                deadline = Max(deadline, DateTimeOffset.UtcNow + (3 * options.TokenLife));
                continue;
            }

            var unsettled = rows.Where(r => r.Status == ConnectionStatus.Removing
                || (r.Status == ConnectionStatus.Active && (r.LastRenewedAt < settledFrom || !stack.Emulator.IsAccessTokenValid(r.AccessToken)))).ToList();
            if (unsettled.Count == 0 || DateTimeOffset.UtcNow > deadline)
            {
                Say($"{clock.Elapsed:mm\\:ss} settled in {(DateTimeOffset.UtcNow - settledFrom).TotalSeconds:0} s" +
                    (unsettled.Count == 0 ? "" : $"; still unsettled at the deadline: {string.Join(", ", unsettled.Select(r => r.Id))}"));
                break;
            }
        }

        await traffic.CancelAsync();
        await Task.WhenAll(callers);

        // The token each connection's customer would get now, from a running instance.
        var final = new List<FinalConnection>();
        foreach (var row in rows)
        {
            var customer = customers.All.FirstOrDefault(c => c.ConnectionId == row.Id) ?? new Customer(row.Id[2..], row.Id);
            var served = row.Status == ConnectionStatus.Active ? await Callers.GetTokenAsync(stack, customer, random, cancellationToken) : null;
            final.Add(new FinalConnection(row, served?.Token, served is { } s && stack.Emulator.IsAccessTokenValid(s.Token)));
        }

        return (final, lost);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>
    /// Consents again (a few tries each) every connection needing a new consent that was not consented again before; adds them,
    /// as they stood, to <paramref name="lost"/>. True when there was any.
    /// </summary>
    private static async Task<bool> ReconsentLostAsync(SoakStack stack, Customers customers, Random random, List<Connection> lost, CancellationToken cancellationToken)
    {
        List<Connection>? rows;
        while ((rows = await ReadAllAsync(stack, cancellationToken)) is null)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }

        var newly = rows.Where(r => r.Status == ConnectionStatus.NeedsReconsent && lost.All(l => l.Id != r.Id)).ToList();
        lost.AddRange(newly);
        foreach (var row in newly)
        {
            var tenant = customers.All.First(c => c.ConnectionId == row.Id).TenantId;
            for (var attempt = 0; attempt < 5 && !await customers.ConsentAsync(tenant, random, cancellationToken); attempt++)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }

        return newly.Count > 0;
    }

    /// <summary>Every few seconds the stored connections, so the ledger knows which pairs reached storage; skipped while storage is down.</summary>
    private static async Task SnapshotsAsync(SoakStack stack, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
                await ReadAllAsync(stack, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private static async Task<List<Connection>?> ReadAllAsync(SoakStack stack, CancellationToken cancellationToken)
    {
        var rows = new List<Connection>();
        string? continuation = null;
        try
        {
            do
            {
                var page = await stack.Store.ListAsync(100, continuation, cancellationToken)
                    ?? throw new InvalidOperationException("The store refused its own continuation token.");
                rows.AddRange(page.Connections);
                continuation = page.ContinuationToken;
            }
            while (continuation is not null);
        }
        catch (StorageUnavailableException)
        {
            return null;
        }

        foreach (var row in rows.Where(r => r.TokensReadable))
        {
            stack.Ledger.SeenInStorage(row.RefreshToken);
        }

        return rows;
    }

    private async Task ProgressAsync(SoakStack stack, Invariants invariants, Stopwatch clock, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(ProgressEvery, cancellationToken);
                var renewals = stack.Ledger.Grants.Sum(g => g.Pairs.Count - 1);
                var reuse = invariants.ReusedRefreshTokens();
                Say($"{clock.Elapsed:mm\\:ss} {renewals} refreshes, {stack.Answers.All.Sum(a => a.Count)} answers, up: {string.Join(" ", stack.Instances.Select(i => i.IsUp ? "+" : "-"))}; " +
                    $"so far {stack.Answers.Bad.Count} bad answers, {stack.Watch.Leaks.Count} leaking log lines, {reuse.Evidence.Count} unexplained reuses");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The phase is over.
        }
    }

    private SoakReport Report(SoakStack stack, Customers customers, Chaos chaos, IReadOnlyList<InvariantResult> results, TimeSpan elapsed)
    {
        var text = new StringBuilder();
        var passed = results.All(r => r.Passed) && stack.Ledger.Anomalies.Count == 0;
        text.AppendLine(CultureInfo.InvariantCulture, $"== soak report: seed {options.Seed}, {options.Duration.TotalMinutes:0.##} minutes of faults, {elapsed:mm\\:ss} in all, {options.Instances} instances");
        text.AppendLine("faults injected:");
        foreach (var (what, count) in chaos.Injected.OrderBy(i => i.Key, StringComparer.Ordinal))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {count,6}  {what}");
        }

        if (chaos.Outages.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"          outages lasted {string.Join(", ", chaos.Outages.Select(o => $"{o.TotalSeconds:0} s"))}");
        }

        var pairs = stack.Ledger.Grants.SelectMany(g => g.Pairs).ToList();
        text.AppendLine("traffic:");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {pairs.Count(p => p.Parent is not null),6}  renewals (refreshes FreshBooks answered with a new pair), {pairs.Count(p => p.AssumedLifetime)} of them odd about expires_in");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {stack.Ledger.Grants.Count,6}  consents exchanged at FreshBooks ({customers.Consents} callbacks said connected, {customers.ConsentsFailed} onboardings cut short), {customers.Removals} removals, {customers.Revokes} grants revoked at FreshBooks");
        foreach (var (route, status, count) in stack.Answers.All)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {count,6}  {status} on {route}");
        }

        text.AppendLine("invariants:");
        foreach (var result in results)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {(result.Passed ? "PASS" : "FAIL")}  {result.Name}");
            text.AppendLine(CultureInfo.InvariantCulture, $"        {result.Figures}");
            foreach (var line in result.Evidence.Take(25))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"        - {line}");
            }

            if (result.Evidence.Count > 25)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"        - ... and {result.Evidence.Count - 25} more");
            }
        }

        foreach (var anomaly in stack.Ledger.Anomalies)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  FAIL  the soak's own books: {anomaly}");
        }

        text.AppendLine("fault log:");
        foreach (var line in chaos.Events)
        {
            text.AppendLine("  " + line);
        }

        text.AppendLine(passed
            ? $"soak PASSED (seed {options.Seed})"
            : $"soak FAILED (seed {options.Seed}); rerun: {options.RerunCommand}   (logs: {options.LogDirectory})");
        var report = text.ToString();
        File.WriteAllText(Path.Combine(options.LogDirectory, "report.txt"), report);
        return new SoakReport(passed, report);
    }

    private void Say(string line)
    {
        lock (output)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }
}
