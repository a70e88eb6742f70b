using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace LocalHostSample.Functions;

/// <summary>The sample's one registration, called by its Program and by the local host's tests.</summary>
public static class SampleServiceCollectionExtensions
{
    public static IServiceCollection AddLocalHostSample(this IServiceCollection services)
    {
        services.TryAddSingleton<InvocationLog>();
        services.TryAddScoped<ScopeProbe>();
        return services;
    }
}

/// <summary>A scoped service: a new id per DI scope, so tests can see one scope per invocation.</summary>
public sealed class ScopeProbe
{
    public Guid Id { get; } = Guid.NewGuid();
}

/// <summary>One run of a non-HTTP function, as the function saw it.</summary>
public sealed record Invocation(string FunctionName, object? Input, string InvocationId);

/// <summary>Records non-HTTP invocations; tests wait on it.</summary>
public sealed class InvocationLog
{
    private readonly ConcurrentQueue<Invocation> _invocations = new();
    private readonly Lock _gate = new();
    private List<(Func<Invocation, bool> Match, TaskCompletionSource<Invocation> Done)> _waiters = [];

    public IReadOnlyList<Invocation> All => [.. _invocations];

    public void Record(Invocation invocation)
    {
        _invocations.Enqueue(invocation);
        lock (_gate)
        {
            foreach (var waiter in _waiters.Where(w => w.Match(invocation)))
            {
                waiter.Done.TrySetResult(invocation);
            }

            _waiters = [.. _waiters.Where(w => !w.Done.Task.IsCompleted)];
        }
    }

    /// <summary>The first invocation (already recorded or still to come) that matches.</summary>
    public Task<Invocation> WaitForAsync(Func<Invocation, bool> match, TimeSpan timeout)
    {
        lock (_gate)
        {
            var existing = _invocations.FirstOrDefault(match);
            if (existing is not null)
            {
                return Task.FromResult(existing);
            }

            var done = new TaskCompletionSource<Invocation>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, done));
            return done.Task.WaitAsync(timeout);
        }
    }
}

/// <summary>The message of the POCO queue function.</summary>
public sealed record SampleOrder(string OrderId, int Quantity);
