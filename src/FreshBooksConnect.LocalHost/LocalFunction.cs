using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.LocalHost;

/// <summary>The trigger types the local host serves.</summary>
public enum LocalTriggerType
{
    /// <summary><c>httpTrigger</c>: served on its route.</summary>
    Http,

    /// <summary><c>timerTrigger</c>: run on its NCRONTAB schedule.</summary>
    Timer,

    /// <summary><c>queueTrigger</c>: run for each message of its Azure Storage queue.</summary>
    Queue,
}

/// <summary>A function the local host loaded from <c>functions.metadata</c>, as declared there.</summary>
public sealed record LocalFunction
{
    /// <summary>The function name (<c>[Function("Name")]</c>).</summary>
    public required string Name { get; init; }

    /// <summary>The method, <c>Namespace.Type.Method</c>.</summary>
    public required string EntryPoint { get; init; }

    /// <summary>What triggers it.</summary>
    public required LocalTriggerType TriggerType { get; init; }

    /// <summary>Disabled by the setting <c>AzureWebJobs.{Name}.Disabled</c>: not served, not scheduled, not polled
    /// (the admin endpoint and <see cref="LocalFunctionsHost.InvokeAsync"/> still run it, as in Functions).</summary>
    public bool IsDisabled { get; init; }

    /// <summary>HTTP: the route template as served, route prefix included (e.g. <c>api/health</c>).</summary>
    public string? Route { get; init; }

    /// <summary>HTTP: the allowed methods, upper case; empty means any method.</summary>
    public IReadOnlyList<string> Methods { get; init; } = [];

    /// <summary>HTTP: the key the caller needs.</summary>
    public AuthorizationLevel? AuthLevel { get; init; }

    /// <summary>Timer: the schedule as declared (may be a <c>%SETTING%</c> expression).</summary>
    public string? Schedule { get; init; }

    /// <summary>Timer: <c>runOnStartup</c>.</summary>
    public bool RunOnStartup { get; init; }

    /// <summary>Queue: the queue name as declared (may contain <c>%SETTING%</c> expressions).</summary>
    public string? QueueName { get; init; }

    /// <summary>Queue: the connection setting name as declared (null: <c>AzureWebJobsStorage</c>).</summary>
    public string? Connection { get; init; }
}
