using System.Text.RegularExpressions;
using Azure.Storage.Queues;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;

namespace FreshBooksConnect.LocalHost.Internal;

/// <summary>A timer function with its resolved schedule.</summary>
internal sealed record TimerPlan(FunctionDescriptor Function, string Expression, TimerSchedule Schedule);

/// <summary>A queue function with its resolved queue (and poison queue).</summary>
internal sealed record QueuePlan(FunctionDescriptor Function, QueueClient Queue, QueueClient PoisonQueue, string ConnectionDescription);

/// <summary>
/// The timers and queues to run, with every <c>%SETTING%</c>, schedule and connection resolved before anything
/// starts, so a missing or wrong setting stops start-up with a message naming the function and the setting.
/// </summary>
internal sealed partial class TriggerPlan
{
    private readonly IConfiguration _configuration;
    private readonly DateTimeOffset _startedAt;

    private TriggerPlan(IConfiguration configuration, DateTimeOffset startedAt, IReadOnlyList<TimerPlan> timers, IReadOnlyList<QueuePlan> queues)
    {
        _configuration = configuration;
        _startedAt = startedAt;
        Timers = timers;
        Queues = queues;
    }

    public IReadOnlyList<TimerPlan> Timers { get; }

    public IReadOnlyList<QueuePlan> Queues { get; }

    public QueueHostSettings QueueSettings { get; private init; } = null!;

    /// <summary>
    /// Resolves the triggers that will run: enabled timers when <paramref name="runTimers"/>, enabled queues when
    /// <paramref name="runQueues"/>. The others are resolved only when run on demand.
    /// </summary>
    public static TriggerPlan Create(
        IReadOnlyList<FunctionDescriptor> functions,
        IConfiguration configuration,
        HostSettings host,
        bool runTimers,
        bool runQueues,
        DateTimeOffset startedAt)
    {
        var problems = new List<string>();
        var timers = new List<TimerPlan>();
        var queues = new List<QueuePlan>();
        var connections = new QueueConnections(configuration, host.Queues);
        foreach (var function in functions.Where(f => !f.Function.IsDisabled))
        {
            if (runTimers && function.Function.TriggerType == LocalTriggerType.Timer)
            {
                if (ResolveSchedule(function, configuration, out var expression, out var schedule) is { } problem)
                {
                    problems.Add(problem);
                }
                else
                {
                    timers.Add(new TimerPlan(function, expression!, schedule!));
                }
            }
            else if (runQueues && function.Function.TriggerType == LocalTriggerType.Queue)
            {
                if (ResolveQueueName(function, configuration, out var queueName) is { } problem)
                {
                    problems.Add(problem);
                    continue;
                }

                try
                {
                    var service = connections.GetClient(function.Function.Connection);
                    queues.Add(new QueuePlan(
                        function,
                        service.GetQueueClient(queueName),
                        service.GetQueueClient(queueName + "-poison"),
                        connections.Describe(function.Function.Connection)));
                }
                catch (InvalidOperationException ex)
                {
                    problems.Add($"Function '{function.Name}': {ex.Message}");
                }
            }
        }

        if (problems.Count > 0)
        {
            throw new LocalHostStartupException(problems);
        }

        return new TriggerPlan(configuration, startedAt, timers, queues) { QueueSettings = host.Queues };
    }

    /// <summary>The status a timer function run on demand sees (null when its schedule can't be resolved).</summary>
    public ScheduleStatus? OnDemandStatus(FunctionDescriptor function, DateTimeOffset now)
    {
        if (ResolveSchedule(function, _configuration, out _, out var schedule) is not null)
        {
            return null;
        }

        return new ScheduleStatus { Last = _startedAt.UtcDateTime, Next = schedule!.GetNextOccurrence(now).UtcDateTime, LastUpdated = now.UtcDateTime };
    }

    private static string? ResolveSchedule(FunctionDescriptor function, IConfiguration configuration, out string? expression, out TimerSchedule? schedule)
    {
        schedule = null;
        expression = AppSettings.Resolve(configuration, function.Function.Schedule ?? string.Empty, out var missing);
        if (expression is null)
        {
            return $"Function '{function.Name}': the schedule '{function.Function.Schedule}' needs the setting {AppSettings.Describe(missing!)}, which is not set.";
        }

        return TimerSchedule.TryParse(expression, out schedule, out var error)
            ? null
            : $"Function '{function.Name}': the schedule{(expression == function.Function.Schedule ? string.Empty : $" (from '{function.Function.Schedule}')")} is invalid: {error}";
    }

    private static string? ResolveQueueName(FunctionDescriptor function, IConfiguration configuration, out string queueName)
    {
        var resolved = AppSettings.Resolve(configuration, function.Function.QueueName ?? string.Empty, out var missing);
        if (resolved is null)
        {
            queueName = string.Empty;
            return $"Function '{function.Name}': the queue name '{function.Function.QueueName}' needs the setting {AppSettings.Describe(missing!)}, which is not set.";
        }

        // Functions lower-cases queue names, then applies the storage naming rules.
        queueName = resolved.ToLowerInvariant();
        return QueueNameRule().IsMatch(queueName) && !queueName.Contains("--", StringComparison.Ordinal)
            ? null
            : $"Function '{function.Name}': '{queueName}' is not a valid queue name (3-63 characters: letters, digits, single hyphens; starting and ending with a letter or digit).";
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex QueueNameRule();
}
