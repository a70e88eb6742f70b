using System.Collections.Concurrent;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>
/// Polls one queue for one queue function, as the Functions queue extension does: up to <c>batchSize</c> messages
/// run at once; a message stays invisible while its function runs (the lease is renewed); it is deleted only when the
/// function returned without throwing; a failed message becomes visible again after <c>visibilityTimeout</c>; after
/// <c>maxDequeueCount</c> attempts it moves to <c>&lt;queue&gt;-poison</c>. Idle polling backs off to
/// <c>maxPollingInterval</c>.
/// </summary>
internal sealed class QueueTriggerListener(
    FunctionDescriptor function,
    QueueClient queue,
    QueueClient poisonQueue,
    QueueHostSettings settings,
    FunctionInvoker invoker,
    ILogger logger)
{
    /// <summary>How long a received message stays invisible; renewed at half time while the function runs.</summary>
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(10);

    private static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
    private readonly SemaphoreSlim _poisonQueueGate = new(1, 1);
    private bool _poisonQueueCreated;

    public async Task RunAsync(CancellationToken stopping)
    {
        await Task.Yield();
        if (!await EnsureQueueAsync(stopping).ConfigureAwait(false))
        {
            return;
        }

        using var slots = new SemaphoreSlim(settings.BatchSize, settings.BatchSize);
        var idle = MinPollingInterval;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                await slots.WaitAsync(stopping).ConfigureAwait(false);
                var wanted = 1;
                while (wanted < settings.BatchSize && slots.Wait(0))
                {
                    wanted++;
                }

                QueueMessage[] messages;
                try
                {
                    messages = (await queue.ReceiveMessagesAsync(wanted, Lease, stopping).ConfigureAwait(false)).Value;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    slots.Release(wanted);
                    LocalHostLog.QueuePollFailed(logger, function.Name, queue.Name, ex);
                    await Task.Delay(settings.MaxPollingInterval, stopping).ConfigureAwait(false);
                    continue;
                }

                if (wanted > messages.Length)
                {
                    slots.Release(wanted - messages.Length);
                }

                if (messages.Length == 0)
                {
                    await Task.Delay(idle, stopping).ConfigureAwait(false);
                    idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, Math.Max(settings.MaxPollingInterval.Ticks, MinPollingInterval.Ticks)));
                    continue;
                }

                idle = MinPollingInterval;
                foreach (var message in messages)
                {
                    Track(ProcessAndReleaseAsync(message, slots, stopping));
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            await Task.WhenAll(_inFlight.Keys).ConfigureAwait(false);
        }
    }

    private void Track(Task task)
    {
        _inFlight[task] = 0;
        _ = task.ContinueWith(t => _inFlight.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task<bool> EnsureQueueAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await queue.CreateIfNotExistsAsync(cancellationToken: stopping).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LocalHostLog.QueuePollFailed(logger, function.Name, queue.Name, ex);
                try
                {
                    await Task.Delay(settings.MaxPollingInterval, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return false;
    }

    private async Task ProcessAndReleaseAsync(QueueMessage message, SemaphoreSlim slots, CancellationToken stopping)
    {
        await Task.Yield();
        try
        {
            await ProcessAsync(message, stopping).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Storage failed while completing the message (it will reappear and be retried): log and go on.
            LocalHostLog.QueueCompletionFailed(logger, message.MessageId, queue.Name, ex);
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task ProcessAsync(QueueMessage message, CancellationToken stopping)
    {
        if (message.DequeueCount > settings.MaxDequeueCount)
        {
            await MoveToPoisonAsync(message, message.PopReceipt).ConfigureAwait(false);
            return;
        }

        var receipt = new Receipt(message.PopReceipt);
        using var renewal = new CancellationTokenSource();
        var keepAlive = KeepLeaseAsync(message, receipt, renewal.Token);
        Exception? failure = null;
        try
        {
            var input = new InvocationInput { Reason = $"New queue message detected on '{queue.Name}'.", QueueMessage = message };
            await invoker.InvokeAsync(function, input, onResult: null, stopping).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            failure = ex; // logged by the invoker
        }
        finally
        {
            await renewal.CancelAsync().ConfigureAwait(false);
            await keepAlive.ConfigureAwait(false);
        }

        if (failure is null)
        {
            await queue.DeleteMessageAsync(message.MessageId, receipt.Value, CancellationToken.None).ConfigureAwait(false);
        }
        else if (stopping.IsCancellationRequested && failure is OperationCanceledException)
        {
            // Shutting down: let the message come back right away for the next run; this attempt doesn't count.
            await queue.UpdateMessageAsync(message.MessageId, receipt.Value, visibilityTimeout: TimeSpan.Zero, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
        else if (message.DequeueCount >= settings.MaxDequeueCount)
        {
            await MoveToPoisonAsync(message, receipt.Value).ConfigureAwait(false);
        }
        else
        {
            await queue.UpdateMessageAsync(message.MessageId, receipt.Value, visibilityTimeout: settings.VisibilityTimeout, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task KeepLeaseAsync(QueueMessage message, Receipt receipt, CancellationToken done)
    {
        try
        {
            while (true)
            {
                await Task.Delay(Lease / 2, done).ConfigureAwait(false);
                var updated = await queue.UpdateMessageAsync(message.MessageId, receipt.Value, visibilityTimeout: Lease, cancellationToken: done).ConfigureAwait(false);
                receipt.Value = updated.Value.PopReceipt;
            }
        }
        catch (OperationCanceledException)
        {
            // The function finished.
        }
        catch (RequestFailedException ex)
        {
            LocalHostLog.QueueCompletionFailed(logger, message.MessageId, queue.Name, ex);
        }
    }

    private async Task MoveToPoisonAsync(QueueMessage message, string popReceipt)
    {
        await _poisonQueueGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_poisonQueueCreated)
            {
                await poisonQueue.CreateIfNotExistsAsync().ConfigureAwait(false);
                _poisonQueueCreated = true;
            }
        }
        finally
        {
            _poisonQueueGate.Release();
        }

        await poisonQueue.SendMessageAsync(message.Body, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        await queue.DeleteMessageAsync(message.MessageId, popReceipt, CancellationToken.None).ConfigureAwait(false);
        LocalHostLog.MovedToPoison(logger, message.MessageId, queue.Name, poisonQueue.Name, message.DequeueCount);
    }

    /// <summary>The message's current pop receipt (each lease renewal issues a new one).</summary>
    private sealed class Receipt(string value)
    {
        public string Value { get; set; } = value;
    }
}
