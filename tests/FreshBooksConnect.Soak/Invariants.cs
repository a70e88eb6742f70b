using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FreshBooks.Emulator;
using FreshBooksConnect.Connections;

namespace FreshBooksConnect.Soak;

/// <summary>One invariant's verdict: its figures, and the evidence of each failure.</summary>
internal sealed record InvariantResult(string Name, bool Passed, string Figures, IReadOnlyList<string> Evidence);

/// <summary>What the soak found at the end: each stored connection, and the token an instance hands out for it.</summary>
internal sealed record FinalConnection(Connection Row, string? ServedToken, bool ServedTokenValid);

/// <summary>
/// The soak's invariants over what the ledger, the emulator, the app instances' answers and logs, and the stored connections
/// show. Where FreshBooks itself (or a killed instance) lost a pair, the loss is accounted for, one pair at a time; anything
/// else is a failure with its evidence.
/// </summary>
internal sealed class Invariants(SoakStack stack, Customers customers)
{
    private static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(250);

    /// <summary>Why a pair the app never saved is not the product's fault; null when it is.</summary>
    public string? WhyLost(IssuedPair pair)
    {
        switch (pair.Fate)
        {
            case PairFate.DroppedByFreshBooks:
                return "FreshBooks dropped the answer after rotating";
            case PairFate.NoUsablePair:
                return "FreshBooks answered 200 without a usable pair";
            case PairFate.KilledBeforeDelivery:
                return "the instance was killed between FreshBooks' answer and its arrival";
            case PairFate.AppGaveUp:
                return "the answer came after the instance had hung up (its FreshBooks time-out)";
            case PairFate.AnsweredAtTimeOut when !pair.SeenSaved:
                return "the answer came as the instance's FreshBooks time-out ran out";
        }

        if (pair.SeenSaved || pair.DeliveredAt is not { } delivered)
        {
            return null;
        }

        var instance = stack.Instances[pair.Instance];
        if (instance.KilledAround(delivered))
        {
            return "the instance that received it was killed (SIGKILL) before it was saved";
        }

        var connection = pair.Grant.ConnectionId;
        return stack.Watch.PairsGivenUp.Any(g => g.Instance == pair.Instance && g.ConnectionId == connection && g.At > delivered)
            ? "the instance logged it as not saved (event 2004)"
            : null;
    }

    public InvariantResult ReusedRefreshTokens()
    {
        var reuses = stack.Ledger.Reuses;
        var evidence = new List<string>();
        var accounted = new Dictionary<string, int>();
        foreach (var group in reuses.GroupBy(r => r.Pair))
        {
            var spent = group.Key;
            var successor = spent.Grant.Pairs.FirstOrDefault(p => p.Parent == spent);
            var why = successor is null ? null : WhyLost(successor);
            if (why is null)
            {
                evidence.Add($"{spent.Grant.ConnectionId}: refresh token {TokenLedger.Redacted(spent.RefreshToken)} spent {group.Count()}x more at " +
                    $"{string.Join(", ", group.Select(r => $"{r.At:HH:mm:ss.fff} by app{r.Instance}"))}; the pair it had bought was " +
                    (successor is null ? "unknown" : $"delivered to app{successor.Instance} at {successor.DeliveredAt:HH:mm:ss.fff}{(successor.SeenSaved ? " and saved" : "")}"));
            }
            else
            {
                accounted[why] = accounted.GetValueOrDefault(why) + 1;
            }
        }

        var emulatorCount = stack.Emulator.Misuses.Count(m => m.Kind == MisuseKind.ReusedRefreshToken);
        var lostPairs = stack.Ledger.Grants.SelectMany(g => g.Pairs).Count(p => WhyLost(p) is not null);
        var figures = $"{reuses.GroupBy(r => r.Pair).Count()} reused ({reuses.Count} calls; the emulator recorded {emulatorCount}), " +
            $"{accounted.Values.Sum()} accounted for: {Describe(accounted)}; {evidence.Count} unexplained; {lostPairs} pairs lost in all";
        if (emulatorCount != reuses.Count)
        {
            evidence.Add($"the emulator recorded {emulatorCount} ReusedRefreshToken misuses, the relay booked {reuses.Count}");
        }

        return new InvariantResult("zero reused refresh tokens but for pairs FreshBooks (or a killed instance) lost", evidence.Count == 0, figures, evidence);
    }

    /// <summary>Every connection ends active with a working token renewed after the faults, unless its loss is accounted for.</summary>
    public InvariantResult EveryOtherConnectionWorks(IReadOnlyList<FinalConnection> final, IReadOnlyList<Connection> lost, DateTimeOffset settledFrom)
    {
        var evidence = new List<string>();
        var lostReasons = new Dictionary<string, int>();
        foreach (var row in lost)
        {
            CountLoss(row, lostReasons, evidence, "needed a new consent when the faults stopped");
        }

        int active = 0, renewed = 0, reconsent = 0, deleted = 0;
        var reasons = new Dictionary<string, int>();
        var rows = final.ToDictionary(f => f.Row.Id, StringComparer.Ordinal);
        foreach (var customer in customers.All.Where(c => c.Connected || rows.ContainsKey(c.ConnectionId)))
        {
            rows.TryGetValue(customer.ConnectionId, out var found);
            if (customer.Deleted)
            {
                deleted++;
                if (found is not null)
                {
                    evidence.Add($"{customer.ConnectionId} was deleted (204) but is stored, {found.Row.Status}");
                }

                continue;
            }

            if (found is null)
            {
                evidence.Add($"{customer.ConnectionId} is connected but not stored");
                continue;
            }

            var row = found.Row;
            var pair = stack.Ledger.ByRefreshToken(row.RefreshToken);
            var grant = pair?.Grant;
            switch (row.Status)
            {
                case ConnectionStatus.Active:
                    active++;
                    if (!found.ServedTokenValid)
                    {
                        evidence.Add($"{row.Id} is active but the token an instance hands out is {(found.ServedToken is null ? "none" : "refused by FreshBooks")} (grant {(grant?.RevokedAt is null ? "live" : "revoked by " + grant.RevokedBy)})");
                    }
                    else if (row.LastRenewedAt is not { } last || last < settledFrom)
                    {
                        evidence.Add($"{row.Id} did not renew after the faults stopped (last renewal {row.LastRenewedAt:HH:mm:ss})");
                    }
                    else
                    {
                        renewed++;
                    }

                    break;
                case ConnectionStatus.NeedsReconsent:
                    // The settle phase consents every such connection again: one still here was lost again with no fault, or its
                    // customer's new consent failed.
                    reconsent++;
                    if (lost.Any(l => l.Id == row.Id))
                    {
                        evidence.Add($"{row.Id} still needs a new consent ({row.StatusReason}) after its customer consented again with the faults off");
                    }
                    else
                    {
                        CountLoss(row, reasons, evidence, "needs a new consent");
                    }

                    break;
                default:
                    evidence.Add($"{row.Id} ended {row.Status}");
                    break;
            }
        }

        var figures = $"{active} active ({renewed} renewed after the faults stopped, each token accepted by FreshBooks), " +
            $"{reconsent} need a new consent ({Describe(reasons)}), {deleted} deleted; " +
            $"{lost.Count} had needed a new consent when the faults stopped ({Describe(lostReasons)}) and were consented again";
        return new InvariantResult("every other connection ends active with a working token and renews again", evidence.Count == 0, figures, evidence);
    }

    public InvariantResult NoServerErrors()
    {
        var answers = stack.Answers;
        var evidence = answers.Bad.GroupBy(b => (b.Route, b.Status, b.Excerpt))
            .Select(g => $"{g.Count()}x {g.Key.Status} on {g.Key.Route} ({g.Key.Excerpt}); first at {g.Min(b => b.At):HH:mm:ss} on app{g.First().Instance}")
            .ToList();
        var total = answers.All.Sum(a => a.Count);
        var figures = $"{total} answers: " + string.Join(", ", answers.All.GroupBy(a => a.Status / 100).OrderBy(g => g.Key).Select(g => $"{g.Sum(a => a.Count)} {g.Key}xx")) +
            $" ({answers.Count("GET /api/connections/{id}/token", s => s == 503) + answers.Count("POST /api/connections/{id}/refresh", s => s == 503)} token 503s with Retry-After); " +
            $"{answers.Unanswered} requests unanswered because the instance was killed or stopped ({answers.UnansweredWhileUp} timed out on a running one)";
        return new InvariantResult("no 500; every refusal a 4xx or a 503 with Retry-After", evidence.Count == 0, figures, evidence);
    }

    public InvariantResult NoOrphanGrants(IReadOnlyList<FinalConnection> final)
    {
        var evidence = new List<string>();
        var held = final.Select(f => stack.Ledger.ByRefreshToken(f.Row.RefreshToken)?.Grant).Where(g => g is not null).ToHashSet();
        var live = stack.Ledger.Grants.Where(g => g.RevokedAt is null).ToList();
        var neverHeld = new Dictionary<string, int>();
        foreach (var grant in live.Where(g => !held.Contains(g)))
        {
            var why = WhyLost(grant.Pairs[0]);
            if (why is null)
            {
                evidence.Add($"grant {grant.Id} of {grant.ConnectionId} (consented {grant.CreatedAt:HH:mm:ss}, {grant.Pairs.Count} pairs) is live at FreshBooks and no connection holds it");
            }
            else
            {
                neverHeld[why] = neverHeld.GetValueOrDefault(why) + 1;
            }
        }

        foreach (var revoked in final.Where(f => f.Row.Status == ConnectionStatus.Active && stack.Ledger.ByRefreshToken(f.Row.RefreshToken)?.Grant.RevokedAt is not null))
        {
            evidence.Add($"{revoked.Row.Id} is active and holds a revoked grant");
        }

        var emulatorLive = stack.Emulator.LiveGrantCount;
        if (emulatorLive != live.Count)
        {
            evidence.Add($"the emulator counts {emulatorLive} live grants, the relay's books {live.Count}");
        }

        var figures = $"{emulatorLive} live grants at FreshBooks, {live.Count - neverHeld.Values.Sum()} held by a stored connection, " +
            $"{neverHeld.Values.Sum()} never reached the app ({Describe(neverHeld)}); {stack.Ledger.Grants.Count - live.Count} revoked";
        return new InvariantResult("no live grant that no connection holds, no active connection on a revoked grant", evidence.Count == 0, figures, evidence);
    }

    public InvariantResult NoSecretsInLogs()
    {
        stack.Watch.ScanFiles(stack.Instances.Select(i => (i.Index, i.LogPath)));
        var leaks = stack.Watch.Leaks;
        var evidence = leaks.GroupBy(l => (l.Instance, l.Kind)).Select(g => $"app{g.Key.Instance}: {g.Count()} lines with {g.Key.Kind}, e.g. {g.First().Line}").ToList();
        var exports = string.Join(", ", stack.Watch.Exports.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Value} {e.Key}"));
        var figures = $"{stack.Watch.Lines} log lines and OTLP exports ({(exports.Length == 0 ? "none" : exports)}) of {stack.Instances.Count} instances " +
            $"checked against {stack.Ledger.Secrets().Count} tokens and codes and every link, state, cookie and key";
        if (stack.Watch.Exports.Count < 3)
        {
            evidence.Add($"the instances exported {(exports.Length == 0 ? "no telemetry" : "only " + exports)}: traces, metrics and logs all go to the soak's collector");
        }

        return new InvariantResult("no token, code, state, link or key in any log line or telemetry export", evidence.Count == 0, figures, evidence);
    }

    /// <summary>
    /// The event feed tells each connection's end state: its last event says the status it ended in (needs-reconsent with its
    /// reason, active after a recovery, deleted), no event is in the feed twice, and no event holds a token, code, link or key.
    /// Events reach the feed through their deliverers and are served once 10 s old, so the feed is read again until it agrees
    /// or <paramref name="patience"/> has passed.
    /// </summary>
    public async Task<InvariantResult> EventsTellEveryEndStateAsync(IReadOnlyList<FinalConnection> final, TimeSpan patience, CancellationToken cancellationToken)
    {
        const string Name = "every connection's last event tells its end state; no duplicate, no secret in an event";
        var until = DateTimeOffset.UtcNow + patience;
        while (true)
        {
            var feed = await ReadFeedAsync(cancellationToken);
            var evidence = feed is null ? ["no instance answered GET /api/events"] : CheckFeed(feed, final);
            if (evidence.Count == 0 || DateTimeOffset.UtcNow > until)
            {
                var byType = feed?.GroupBy(e => e.GetProperty("type").GetString()!).OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(g => $"{g.Count()} {g.Key}") ?? [];
                var figures = $"{feed?.Count ?? 0} events in the feed ({string.Join(", ", byType)}) for {final.Count} stored and " +
                    $"{customers.All.Count(c => c.Deleted)} deleted connections";
                return new InvariantResult(Name, evidence.Count == 0, figures, evidence);
            }

            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        }
    }

    private List<string> CheckFeed(List<JsonElement> feed, IReadOnlyList<FinalConnection> final)
    {
        var evidence = new List<string>();
        foreach (var twice in feed.GroupBy(e => e.GetProperty("id").GetString()).Where(g => g.Count() > 1))
        {
            evidence.Add($"event {twice.Key} is in the feed {twice.Count()} times");
        }

        var secretIn = stack.Watch.SecretFinder();
        foreach (var (leaking, kind) in feed.Select(e => (e, kind: secretIn(e.GetRawText()))).Where(l => l.kind is not null).Take(5))
        {
            evidence.Add($"event {leaking.GetProperty("id").GetString()} ({leaking.GetProperty("type").GetString()}) holds {kind}");
        }

        var last = feed.GroupBy(e => e.GetProperty("data").GetProperty("connectionId").GetString()!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        foreach (var row in final.Select(f => f.Row))
        {
            var expected = row.Status == ConnectionStatus.NeedsReconsent ? "needs-reconsent" : "active";
            if (!last.TryGetValue(row.Id, out var latest))
            {
                evidence.Add($"{row.Id} ends {expected} with no event in the feed");
                continue;
            }

            var type = latest.GetProperty("type").GetString();
            var status = latest.GetProperty("data").GetProperty("status").GetString();
            if (status != expected || type == "connection.renewal_failing")
            {
                evidence.Add($"{row.Id} ends {expected}, but its last event is {type} ({status})");
            }
            else if (row.Status == ConnectionStatus.NeedsReconsent && type != "connection.needs_reconsent")
            {
                evidence.Add($"{row.Id} ends needs-reconsent, but its last event is {type}");
            }
        }

        foreach (var gone in customers.All.Where(c => c.Deleted && final.All(f => f.Row.Id != c.ConnectionId)))
        {
            if (last.TryGetValue(gone.ConnectionId, out var latest) && latest.GetProperty("type").GetString() != "connection.deleted")
            {
                evidence.Add($"{gone.ConnectionId} was deleted, but its last event is {latest.GetProperty("type").GetString()}");
            }
            else if (!last.ContainsKey(gone.ConnectionId))
            {
                evidence.Add($"{gone.ConnectionId} was deleted with no event in the feed");
            }
        }

        return evidence;
    }

    /// <summary>The whole feed from its start, page by page, from one running instance; null when none answered.</summary>
    private async Task<List<JsonElement>?> ReadFeedAsync(CancellationToken cancellationToken)
    {
        if (stack.PickUp(Random.Shared) is not { } instance)
        {
            return null;
        }

        var events = new List<JsonElement>();
        string? cursor = null;
        while (true)
        {
            var query = cursor is null ? "limit=200" : $"limit=200&after={Uri.EscapeDataString(cursor)}";
            using var response = await stack.SendAsync(instance, new HttpRequestMessage(HttpMethod.Get, new Uri(instance.BaseUri, "api/events?" + query)), cancellationToken);
            if (response is not { StatusCode: HttpStatusCode.OK })
            {
                return null;
            }

            var page = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            var received = page.GetProperty("events").EnumerateArray().Select(e => e.Clone()).ToList();
            events.AddRange(received);
            cursor = page.GetProperty("cursor").GetString();
            if (received.Count == 0)
            {
                return events;
            }
        }
    }

    /// <summary>A token handed out must not have been dead before it was asked for, unless the pair that killed it was lost too.</summary>
    public InvariantResult NoDeadTokenServed()
    {
        var evidence = new List<string>();
        var accounted = new Dictionary<string, int>();
        foreach (var served in stack.Answers.DeadTokens)
        {
            var pair = served.Pair;
            var why = pair is null ? null
                : pair.KilledAt < served.AskedAt - Margin
                    ? pair.Successor is { } successor ? WhyLost(successor) is { } lost ? "its successor was lost: " + lost : null
                    : pair.Grant.RevokedBy == "soak" ? "the soak had revoked its grant" : null
                : pair.AssumedLifetime ? "expired at FreshBooks while the app assumed 6 hours for an odd expires_in (the soak's short token life)"
                : null;
            if (why is null)
            {
                evidence.Add($"{served.AskedAt:HH:mm:ss.fff} {served.Route} on app{served.Instance} for {served.ConnectionId}: {TokenLedger.Redacted(served.Token)} " +
                    (pair is null ? "was never issued" : pair.KilledAt < served.AskedAt ? $"had died at {pair.KilledAt:HH:mm:ss.fff} ({(pair.Successor is null ? "revoked by " + pair.Grant.RevokedBy : $"refreshed by app{pair.Successor.Instance}")})" : $"had expired (issued {pair.IssuedAt:HH:mm:ss})"));
            }
            else
            {
                accounted[why] = accounted.GetValueOrDefault(why) + 1;
            }
        }

        var figures = $"{stack.Answers.DeadTokens.Count} tokens handed out dead: {accounted.Values.Sum()} accounted for ({Describe(accounted)}), {evidence.Count} not";
        return new InvariantResult("no token handed out that FreshBooks had killed before it was asked for", evidence.Count == 0, figures, evidence);
    }

    /// <summary>Counts why a connection needing a new consent lost its grant; evidence when the soak knows no cause.</summary>
    private void CountLoss(Connection row, Dictionary<string, int> reasons, List<string> evidence, string what)
    {
        var pair = stack.Ledger.ByRefreshToken(row.RefreshToken);
        var grant = pair?.Grant;
        var cause = grant is null ? null
            : grant.RevokedBy == "soak" ? "its grant was revoked at FreshBooks"
            : grant.Pairs.Where(p => p != pair && pair is not null && p.IssuedAt >= pair.IssuedAt).Select(WhyLost).FirstOrDefault(w => w is not null);
        if (cause is null)
        {
            evidence.Add($"{row.Id} {what} ({row.StatusReason}) with no cause the soak knows: it holds {TokenLedger.Redacted(row.RefreshToken)} of grant {grant?.Id.ToString(CultureInfo.InvariantCulture) ?? "unknown"}");
        }
        else
        {
            reasons[cause] = reasons.GetValueOrDefault(cause) + 1;
        }
    }

    private static string Describe(Dictionary<string, int> counts) =>
        counts.Count == 0 ? "none" : string.Join("; ", counts.OrderByDescending(c => c.Value).Select(c => $"{c.Value} {c.Key}"));
}
