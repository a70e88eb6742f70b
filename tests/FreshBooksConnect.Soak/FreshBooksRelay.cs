using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FreshBooksConnect.Soak;

/// <summary>Where an armed kill of an app instance falls on its next refresh.</summary>
internal enum KillPoint
{
    /// <summary>Before the refresh reaches FreshBooks: nothing is spent; the instance's lease must simply run out.</summary>
    BeforeFreshBooks,

    /// <summary>FreshBooks has answered with a new pair; the instance dies before it gets the answer (a pair provably lost).</summary>
    AfterFreshBooksAnswered,

    /// <summary>The answer reached the instance; it dies a moment later, racing its own save.</summary>
    AfterDelivery,
}

/// <summary>
/// Stands between each app instance and the FreshBooks emulator (one port per instance, so it knows who asks): passes every
/// call on unchanged and books every token answer in the <see cref="TokenLedger"/>, including the ones the app never got.
/// It can also kill the instance that asks for the next refresh at a chosen point (see <see cref="KillPoint"/>).
/// </summary>
internal sealed class FreshBooksRelay(
    IReadOnlyList<int> ports, Uri emulator, Func<string, bool> redeemedAtFreshBooks, TokenLedger ledger, Func<int, Task> killInstance, Random random) : IAsyncDisposable
{
    private readonly HttpClient _client = HttpForwarding.CreateClient();
    private readonly Lock _gate = new();
    private WebApplication? _app;
    private ArmedKill? _armed;

    public IReadOnlyList<int> Ports { get; } = ports;

    public async Task StartAsync()
    {
        _app = HttpForwarding.CreateRelayApp(Ports);
        _app.Run(RelayAsync);
        await _app.StartAsync();
    }

    /// <summary>Kills the instance whose refresh comes next (any instance in <paramref name="instances"/>) at <paramref name="point"/>.</summary>
    /// <returns>The instance killed, or null when no refresh came within <paramref name="wait"/>.</returns>
    public async Task<int?> KillOnNextRefreshAsync(KillPoint point, IReadOnlySet<int> instances, TimeSpan wait)
    {
        var armed = new ArmedKill(point, instances);
        lock (_gate)
        {
            if (_armed is not null)
            {
                return null;
            }

            _armed = armed;
        }

        var fired = await Task.WhenAny(armed.Done.Task, Task.Delay(wait));
        lock (_gate)
        {
            if (_armed == armed)
            {
                _armed = null;
            }
        }

        return fired == armed.Done.Task ? await armed.Done.Task : null;
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
        var instance = Ports.ToList().IndexOf(context.Connection.LocalPort);
        var body = await HttpForwarding.ReadBodyAsync(context.Request, context.RequestAborted);
        var path = context.Request.Path.Value ?? "";
        if (path.Equals("/auth/oauth/token", StringComparison.Ordinal))
        {
            await TokenAsync(context, instance, body);
            return;
        }

        ForwardedAnswer answer;
        try
        {
            answer = await HttpForwarding.SendAsync(_client, emulator, context.Request, body, context.RequestAborted);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            context.Abort();
            return;
        }

        using (answer.Message)
        {
            if (path.Equals("/auth/oauth/revoke", StringComparison.Ordinal) && answer.Status == 200 && Field(body, "token") is { } revoked)
            {
                ledger.Revoked(revoked, "app");
            }

            await HttpForwarding.WriteAsync(context, answer);
        }
    }

    /// <summary>
    /// An answer written this close to the instance's FreshBooks time-out (counted from when its request arrived here, which is
    /// after the instance started counting) may be written into the socket's buffer while the instance gives up on it.
    /// </summary>
    private static readonly TimeSpan TimeOutMargin = TimeSpan.FromMilliseconds(500);

    /// <summary>Ample time for FreshBooks to finish a call it was processing when its caller hung up (it takes milliseconds).</summary>
    private static readonly TimeSpan ProcessingGrace = TimeSpan.FromSeconds(1);

    private async Task TokenAsync(HttpContext context, int instance, byte[] body)
    {
        var arrived = Stopwatch.GetTimestamp();
        var grantType = Field(body, "grant_type");
        var spent = grantType == "refresh_token" ? Field(body, "refresh_token") : null;
        var code = grantType == "authorization_code" ? Field(body, "code") : null;
        var kill = spent is null ? null : TakeArmedKill(instance);
        if (kill?.Point == KillPoint.BeforeFreshBooks)
        {
            await killInstance(instance);
            kill.Done.TrySetResult(instance);
            context.Abort();
            return;
        }

        ForwardedAnswer answer;
        try
        {
            answer = await HttpForwarding.SendAsync(_client, emulator, context.Request, body, context.RequestAborted);
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !context.RequestAborted.IsCancellationRequested)
        {
            // FreshBooks processed the call and cut the connection (DropAfterRotation): the new pair exists, nobody has it.
            if (Book(spent, code, instance, null) is { } lost)
            {
                ledger.Lost(lost, PairFate.DroppedByFreshBooks);
            }

            kill?.Done.TrySetResult(null);
            context.Abort();
            return;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            // The instance hung up before FreshBooks answered (its own time-out). FreshBooks stops a held call then, unprocessed,
            // unless it was processing it just as the instance gave up (a delay that ended at that moment): then the new pair
            // exists and nobody has it. FreshBooks is asked, once it has had the time to finish what it was doing.
            kill?.Done.TrySetResult(null);
            context.Abort();
            await Task.Delay(ProcessingGrace);
            if ((spent ?? code) is { } redeemed && !ledger.IsRedeemed(redeemed) && redeemedAtFreshBooks(redeemed) && Book(spent, code, instance, null) is { } lost)
            {
                ledger.Lost(lost, PairFate.AppGaveUp);
            }

            return;
        }

        using (answer.Message)
        {
            var pair = answer.Status == 200 ? Book(spent, code, instance, answer.Body) : null;
            if (answer.Status != 200 && spent is not null && Field(answer.Body, "error") == "invalid_grant")
            {
                ledger.RefreshRefused(spent, instance);
            }

            if (kill?.Point == KillPoint.AfterFreshBooksAnswered)
            {
                await killInstance(instance);
                if (pair is not null)
                {
                    ledger.Lost(pair, PairFate.KilledBeforeDelivery);
                }

                kill.Done.TrySetResult(instance);
                context.Abort();
                return;
            }

            try
            {
                await HttpForwarding.WriteAsync(context, answer);
                if (pair is not null)
                {
                    if (Stopwatch.GetElapsedTime(arrived) >= SoakStack.FreshBooksTimeout - TimeOutMargin)
                    {
                        ledger.Lost(pair, PairFate.AnsweredAtTimeOut);
                    }
                    else
                    {
                        ledger.Delivered(pair);
                    }
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
            {
                if (pair is not null)
                {
                    ledger.Lost(pair, PairFate.AppGaveUp);
                }
            }

            if (kill?.Point == KillPoint.AfterDelivery)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(0, 300)));
                await killInstance(instance);
                kill.Done.TrySetResult(instance);
            }
        }
    }

    /// <summary>Books a processed call: the new pair, or (a 200 without a usable pair) a pair nobody can use.</summary>
    private IssuedPair? Book(string? spent, string? code, int instance, byte[]? answer)
    {
        var access = answer is null ? null : Field(answer, "access_token")?.Trim();
        var refresh = answer is null ? null : Field(answer, "refresh_token")?.Trim();
        var pair = spent is not null ? ledger.Refreshed(spent, access, refresh, instance)
            : code is not null ? ledger.Exchanged(code, access, refresh, instance)
            : null;
        if (pair is null || answer is null)
        {
            return pair;
        }

        if (string.IsNullOrEmpty(access) || string.IsNullOrEmpty(refresh))
        {
            ledger.Lost(pair, PairFate.NoUsablePair);
        }

        pair.AssumedLifetime = !UsableLifetime(answer);
        return pair;
    }

    private ArmedKill? TakeArmedKill(int instance)
    {
        lock (_gate)
        {
            if (_armed is { } armed && armed.Instances.Contains(instance))
            {
                _armed = null;
                return armed;
            }

            return null;
        }
    }

    /// <summary>The product's rule for <c>expires_in</c>: a positive number of seconds up to 48 hours, else it assumes 6 hours.</summary>
    private static bool UsableLifetime(byte[] answer)
    {
        var value = Field(answer, "expires_in");
        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= 48 * 3600;
    }

    /// <summary>A top-level field of a JSON body as text (numbers too); null when absent or not JSON.</summary>
    private static string? Field(byte[] body, string name)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(name, out var value)
                ? value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString(),
                    JsonValueKind.Number => value.GetRawText(),
                    _ => null,
                }
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed class ArmedKill(KillPoint point, IReadOnlySet<int> instances)
    {
        public KillPoint Point { get; } = point;

        public IReadOnlySet<int> Instances { get; } = instances;

        public TaskCompletionSource<int?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
