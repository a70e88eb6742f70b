using System.Collections.Concurrent;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>
/// Starts the timer and queue listeners of the plan with the web host and stops them with it; also runs functions on
/// demand (admin endpoint, <see cref="LocalFunctionsHost.InvokeAsync"/>) and waits for those on shutdown.
/// </summary>
internal sealed class TriggerListeners(
    TriggerPlan plan,
    FunctionInvoker invoker,
    TimeProvider timerClock,
    ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private readonly ConcurrentDictionary<string, TimerTriggerListener> _timers = new(StringComparer.OrdinalIgnoreCase);
    private readonly ILogger _logger = loggerFactory.CreateLogger("FreshBooksConnect.LocalHost.Triggers");

    public CancellationToken Stopping => _stopping.Token;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var timer in plan.Timers)
        {
            var listener = new TimerTriggerListener(timer.Function, timer.Schedule, invoker, timerClock, _logger);
            _timers[timer.Function.Name] = listener;
            Track(listener.RunAsync(_stopping.Token));
        }

        foreach (var queue in plan.Queues)
        {
            LocalHostLog.QueueListening(_logger, queue.Function.Name, queue.Queue.Name, queue.ConnectionDescription);
            var listener = new QueueTriggerListener(queue.Function, queue.Queue, queue.PoisonQueue, plan.QueueSettings, invoker, _logger);
            Track(listener.RunAsync(_stopping.Token));
        }

        return Task.CompletedTask;
    }

    /// <summary>Runs a timer or queue function now; throws what it throws.</summary>
    public Task InvokeNowAsync(FunctionDescriptor function, string? input, CancellationToken cancellationToken)
    {
        InvocationInput invocation;
        switch (function.Function.TriggerType)
        {
            case LocalTriggerType.Timer:
                var status = _timers.TryGetValue(function.Name, out var listener)
                    ? listener.CurrentStatus()
                    : plan.OnDemandStatus(function, timerClock.GetUtcNow());
                invocation = new InvocationInput
                {
                    Reason = "This function was programmatically called via the host APIs.",
                    Timer = new TimerInfo { IsPastDue = false, ScheduleStatus = status },
                };
                break;

            case LocalTriggerType.Queue:
                if (input is null)
                {
                    throw new ArgumentException($"Function '{function.Name}' is queue-triggered: it needs an input message.", nameof(input));
                }

                var now = DateTimeOffset.UtcNow;
                invocation = new InvocationInput
                {
                    Reason = "This function was programmatically called via the host APIs.",
                    QueueMessage = Azure.Storage.Queues.Models.QueuesModelFactory.QueueMessage(
                        Guid.NewGuid().ToString(), popReceipt: string.Empty, BinaryData.FromString(input), dequeueCount: 1,
                        nextVisibleOn: now, insertedOn: now, expiresOn: now.AddDays(7)),
                };
                break;

            default:
                throw new InvalidOperationException($"Function '{function.Name}' is HTTP-triggered: call its route instead.");
        }

        return RunAsync();

        async Task RunAsync()
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            await invoker.InvokeAsync(function, invocation, onResult: null, linked.Token).ConfigureAwait(false);
        }
    }

    /// <summary>Starts a run in the background (the admin endpoint answers 202 right away); failures are logged.</summary>
    public void InvokeInBackground(FunctionDescriptor function, string? input)
    {
        var run = InvokeNowAsync(function, input, CancellationToken.None);
        Track(run.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_running.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Track(Task task)
    {
        _running[task] = 0;
        _ = task.ContinueWith(t => _running.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
