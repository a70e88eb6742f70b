using Azure.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Storage;

/// <summary>
/// Where connections, consent states, the renewal index and the renewal queue live. Section <c>Storage</c>, shaped like a
/// Functions connection so the queue trigger (<c>Connection = "Storage"</c>) reads the same settings:
/// locally <c>Storage</c> = a connection string (Azurite); in Azure <c>Storage__tableServiceUri</c>,
/// <c>Storage__queueServiceUri</c>, <c>Storage__credential</c> = <c>managedidentity</c> and <c>Storage__clientId</c>
/// (the user-assigned identity's client id). <c>Storage__Retry__*</c> sets the retries and time-out of every table and queue call
/// (the queue trigger reads the same section, and binds <c>Retry</c> to its client the same way).
/// </summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>The renewal queue; fixed because the queue trigger names it at compile time.</summary>
    public const string RenewalQueueName = "renewals";

    public const string ConnectionsTableName = "connections";
    public const string ConsentStatesTableName = "consentstates";
    public const string RenewalIndexTableName = "renewalindex";

    /// <summary>Event reminders, delivery leases, the event feed and failed events (the outbox rows live with their connections).</summary>
    public const string EventsTableName = "events";

    /// <summary>The event delivery queue; fixed because the queue trigger names it at compile time.</summary>
    public const string EventQueueName = "events";

    /// <summary>A storage connection string (the value of the <c>Storage</c> setting itself).</summary>
    public string? ConnectionString { get; set; }

    public Uri? TableServiceUri { get; set; }

    public Uri? QueueServiceUri { get; set; }

    /// <summary><c>managedidentity</c> to use the identity named by <see cref="ClientId"/>; anything else uses DefaultAzureCredential.</summary>
    public string? Credential { get; set; }

    /// <summary>Client id of the user-assigned managed identity.</summary>
    public string? ClientId { get; set; }

    /// <summary>How each table and queue call is retried and how long one try may take (<c>Storage__Retry__*</c>).</summary>
    public StorageRetryOptions Retry { get; set; } = new();

    /// <summary>
    /// Applied to the table and queue clients' options after the retry settings. Not a setting: tests and benchmarks add
    /// pipeline policies here (request counters, injected faults).
    /// </summary>
    public Action<ClientOptions>? ConfigureClients { get; set; }

    internal static void Bind(StorageOptions options, IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        section.Bind(options);
        options.ConnectionString ??= section.Value;
    }
}

internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var failures = new List<string>();
        failures.AddRange(options.Retry.Validate());
        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }

        if (options.TableServiceUri is not { IsAbsoluteUri: true })
        {
            failures.Add("Storage is required: a storage connection string, or Storage__tableServiceUri and Storage__queueServiceUri with a managed identity (Storage__credential=managedidentity, Storage__clientId).");
        }
        else if (options.QueueServiceUri is not { IsAbsoluteUri: true })
        {
            failures.Add("Storage__queueServiceUri is required beside Storage__tableServiceUri.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// The storage clients' own retries (<c>Storage__Retry__MaxRetries</c>, <c>__Delay</c>, <c>__MaxDelay</c>) and the time one try
/// may take (<c>Storage__Retry__NetworkTimeout</c>). Set explicitly, not left to the SDK's defaults (3 retries, 100 s a try),
/// because a renewal lease must outlast every storage call its holder makes: see <see cref="LongestCall"/>.
/// </summary>
public sealed class StorageRetryOptions
{
    public int MaxRetries { get; set; } = 3;

    /// <summary>First delay between tries; doubles each time (with the SDK's jitter) up to <see cref="MaxDelay"/>.</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest one storage call can take before it fails: every try running into the network time-out, and the delays
    /// between them at their largest (the SDK adds up to 20% jitter).
    /// </summary>
    public TimeSpan LongestCall
    {
        get
        {
            var delays = TimeSpan.Zero;
            for (var retry = 0; retry < MaxRetries; retry++)
            {
                var delay = Delay * Math.Pow(2, Math.Min(retry, 30)) * 1.2;
                delays += delay < MaxDelay ? delay : MaxDelay;
            }

            return (NetworkTimeout * (MaxRetries + 1)) + delays;
        }
    }

    internal void Apply(RetryOptions retry)
    {
        retry.Mode = RetryMode.Exponential;
        retry.MaxRetries = MaxRetries;
        retry.Delay = Delay;
        retry.MaxDelay = MaxDelay;
        retry.NetworkTimeout = NetworkTimeout;
    }

    internal IEnumerable<string> Validate()
    {
        if (MaxRetries is < 0 or > 10)
        {
            yield return "Storage__Retry__MaxRetries must be 0-10.";
        }

        if (Delay < TimeSpan.Zero || MaxDelay < Delay)
        {
            yield return "Storage__Retry__Delay must not be negative or above Storage__Retry__MaxDelay.";
        }

        if (NetworkTimeout <= TimeSpan.Zero || NetworkTimeout > TimeSpan.FromMinutes(5))
        {
            yield return "Storage__Retry__NetworkTimeout must be between 0 and 5 minutes.";
        }
    }
}
