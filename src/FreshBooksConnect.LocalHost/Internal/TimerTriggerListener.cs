using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>
/// Runs one timer function on its schedule, one invocation at a time (Functions timers are singletons).
/// Occurrences missed while the function ran long or the machine slept are coalesced into one invocation with
/// <see cref="TimerInfo.IsPastDue"/> set, like the Functions schedule monitor does.
/// </summary>
internal sealed class TimerTriggerListener(
    FunctionDescriptor function,
    TimerSchedule schedule,
    FunctionInvoker invoker,
    TimeProvider clock,
    ILogger logger)
{
    /// <summary>Longest single wait: Task.Delay can't wait for a year-away occurrence in one go.</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromHours(12);

    private DateTimeOffset _last = clock.GetUtcNow();

    public TimerSchedule Schedule => schedule;

    /// <summary>The status a manual run sees.</summary>
    public ScheduleStatus CurrentStatus()
    {
        var now = clock.GetUtcNow();
        return new ScheduleStatus { Last = _last.UtcDateTime, Next = schedule.GetNextOccurrence(now).UtcDateTime, LastUpdated = now.UtcDateTime };
    }

    /// <summary>
    /// Runs until <paramref name="stopping"/>. Occurrences count from when the listener was created, not from when
    /// this loop gets to run, so a test moving a fake clock right after start-up sees the same firings.
    /// </summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var due = schedule.GetNextOccurrence(_last);
        LocalHostLog.TimerScheduled(logger, function.Name, function.Function.Schedule ?? string.Empty, due);
        if (function.Function.RunOnStartup)
        {
            await Task.Yield(); // don't run the function on the start-up path
            await InvokeAsync(isPastDue: false, "Timer fired at start-up (runOnStartup)", stopping).ConfigureAwait(false);
        }

        while (!stopping.IsCancellationRequested)
        {
            var now = clock.GetUtcNow();
            if (now < due)
            {
                var wait = due - now < MaxWait ? due - now : MaxWait;
                try
                {
                    await Task.Delay(wait, clock, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            // Every occurrence up to now runs as one invocation; more than one means some were missed.
            var latest = due;
            while (schedule.GetNextOccurrence(latest) <= now)
            {
                latest = schedule.GetNextOccurrence(latest);
            }

            var isPastDue = latest != due;
            if (isPastDue)
            {
                LocalHostLog.TimerPastDue(logger, function.Name, due, now);
            }

            await InvokeAsync(isPastDue, $"Timer fired at {now:O}", stopping).ConfigureAwait(false);
            _last = latest;
            due = schedule.GetNextOccurrence(latest);
        }
    }

    private async Task InvokeAsync(bool isPastDue, string reason, CancellationToken stopping)
    {
        var timer = new TimerInfo { IsPastDue = isPastDue, ScheduleStatus = CurrentStatus() };
        try
        {
            await invoker.InvokeAsync(function, new InvocationInput { Reason = reason, Timer = timer }, onResult: null, stopping).ConfigureAwait(false);
        }
        catch (Exception) when (!stopping.IsCancellationRequested)
        {
            // Logged by the invoker; a failed run doesn't stop the schedule.
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
