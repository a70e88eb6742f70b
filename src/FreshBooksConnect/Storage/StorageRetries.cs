using FreshBooksConnect.Renewal;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace FreshBooksConnect.Storage;

/// <summary>
/// Retries of writes that must not be dropped when storage is unavailable (they sit on top of the storage client's own retries):
/// a renewal's outcome, a new consent's connection, a removal's delete. Declared once, from <see cref="RenewalOptions"/>.
/// </summary>
public sealed class StorageRetries(TimeProvider time, IOptions<RenewalOptions> options)
{
    /// <summary>The longest wait between two tries, however long the save goes on.</summary>
    internal static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);

    private readonly RenewalOptions _options = options.Value;

    /// <summary>
    /// <see cref="RenewalOptions.SaveAttempts"/> tries, from <see cref="RenewalOptions.SaveRetryDelay"/> doubling: what a caller
    /// who is waiting (a browser, a token request) can be asked to sit through.
    /// </summary>
    public ResiliencePipeline WhileWaiting { get; } = Build(time, options.Value.SaveAttempts - 1, options.Value.SaveRetryDelay);

    /// <summary>
    /// Tries until the write lands or <see cref="RenewalOptions.SaveTimeout"/> has passed (then the last
    /// <see cref="StorageUnavailableException"/> comes through). <paramref name="waitedLongEnough"/> runs once, when the tries a
    /// waiting caller sits through (<see cref="WhileWaiting"/>) are spent: the caller is answered then, the tries go on.
    /// </summary>
    public ResiliencePipeline UntilSaved(Action waitedLongEnough)
    {
        var giveUpAt = time.GetUtcNow() + _options.SaveTimeout;
        var retry = new RetryStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is StorageUnavailableException && time.GetUtcNow() < giveUpAt),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            Delay = _options.SaveRetryDelay,
            MaxDelay = MaxDelay,
            UseJitter = true,
            OnRetry = args =>
            {
                if (args.AttemptNumber + 1 == _options.SaveAttempts)
                {
                    waitedLongEnough();
                }

                return ValueTask.CompletedTask;
            },
        };
        return new ResiliencePipelineBuilder { TimeProvider = time }.AddRetry(retry).Build();
    }

    private static ResiliencePipeline Build(TimeProvider time, int retries, TimeSpan delay) =>
        retries == 0
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder { TimeProvider = time }
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder().Handle<StorageUnavailableException>(),
                    MaxRetryAttempts = retries,
                    BackoffType = DelayBackoffType.Exponential,
                    Delay = delay,
                    MaxDelay = MaxDelay,
                    UseJitter = true,
                })
                .Build();
}
