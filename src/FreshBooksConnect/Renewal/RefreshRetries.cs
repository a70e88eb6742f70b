using FreshBooksConnect.FreshBooks;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace FreshBooksConnect.Renewal;

/// <summary>
/// The calls one renewal may make to FreshBooks' token endpoint: another try only after a 5xx, a 429 whose <c>Retry-After</c>
/// can be waited out inline, a time-out or a network error (FreshBooks did not spend the refresh token), and only while the
/// renewal still holds its lease. Never after a 200: that answer may have spent the token. Declared once, from
/// <see cref="RenewalOptions"/>.
/// </summary>
public sealed class RefreshRetries
{
    private static readonly ResiliencePropertyKey<Func<Task<bool>>> StillLeased = new("renewal.still-leased");
    private static readonly ResiliencePropertyKey<bool> LeaseLost = new("renewal.lease-lost");
    private readonly ResiliencePipeline<FreshBooksResult<TokenGrant>> _pipeline;

    public RefreshRetries(RenewalSchedule schedule, TimeProvider time, IOptions<RenewalOptions> options)
    {
        var value = options.Value;
        _pipeline = value.RefreshAttempts <= 1
            ? ResiliencePipeline<FreshBooksResult<TokenGrant>>.Empty
            : new ResiliencePipelineBuilder<FreshBooksResult<TokenGrant>> { TimeProvider = time }
                .AddRetry(new RetryStrategyOptions<FreshBooksResult<TokenGrant>>
                {
                    MaxRetryAttempts = value.RefreshAttempts - 1,
                    ShouldHandle = async args =>
                    {
                        if (args.Outcome.Result is not { Outcome: FreshBooksOutcome.Transient } answer || answer.RetryAfter > value.MaxInlineRetryAfter)
                        {
                            return false;
                        }

                        var stillLeased = await args.Context.Properties.GetValue(StillLeased, static () => Task.FromResult(true))().ConfigureAwait(false);
                        args.Context.Properties.Set(LeaseLost, !stillLeased);
                        return stillLeased;
                    },
                    DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(schedule.InlineRetryDelay(args.AttemptNumber + 1, args.Outcome.Result?.RetryAfter)),
                })
                .Build();
    }

    /// <summary>
    /// Runs <paramref name="refresh"/> until it gives an answer not worth trying again. <paramref name="stillLeased"/> is asked
    /// before each further try; when it says no, the last answer comes back with <c>LeaseLost</c> set.
    /// </summary>
    public async Task<(FreshBooksResult<TokenGrant> Answer, bool LeaseLost)> RunAsync(Func<Task<FreshBooksResult<TokenGrant>>> refresh, Func<Task<bool>> stillLeased)
    {
        var context = ResilienceContextPool.Shared.Get(CancellationToken.None);
        try
        {
            context.Properties.Set(StillLeased, stillLeased);
            var answer = await _pipeline.ExecuteAsync(static async (_, refresh) => await refresh().ConfigureAwait(false), context, refresh).ConfigureAwait(false);
            return (answer, context.Properties.GetValue(LeaseLost, false));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
