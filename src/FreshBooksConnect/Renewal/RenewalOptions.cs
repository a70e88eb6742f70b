using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Renewal;

/// <summary>
/// When and how connections are renewed. Section <c>Renewal</c> (<c>Renewal__RenewBefore</c>, ...). The sweep's NCRONTAB
/// schedule is the separate app setting <c>RenewalSchedule</c>, read by the timer trigger.
/// </summary>
public sealed class RenewalOptions
{
    public const string SectionName = "Renewal";

    /// <summary>Renew when the access token expires within this window (default 60 minutes).</summary>
    public TimeSpan RenewBefore { get; set; } = TimeSpan.FromMinutes(60);

    /// <summary>Up to this much earlier, at random, so renewals of connections made together spread out (default 10 minutes).</summary>
    public TimeSpan Jitter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The token API refreshes inline when the token expires within this (default 5 minutes).</summary>
    public TimeSpan InlineRefreshBefore { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a renewal lease holds (default 3 minutes); must outlive everything its holder does before FreshBooks answers:
    /// the lease write, every refresh try with its time-out and the waits between them, and the storage reads in between.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Calls to the token endpoint one renewal may make when FreshBooks answers 5xx/429 or cannot be reached.</summary>
    public int RefreshAttempts { get; set; } = 3;

    /// <summary>First delay between those calls; doubles each time, plus jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A <c>Retry-After</c> up to this long is waited out inline; a longer one moves the renewal to a later sweep.</summary>
    public TimeSpan MaxInlineRetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>After a failed renewal the connection waits this long before the next try, doubling per failure (default 2 minutes)...</summary>
    public TimeSpan FailureBackoff { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>...up to this (default 30 minutes): a failing connection is never hammered.</summary>
    public TimeSpan MaxFailureBackoff { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Tries to save a renewal's outcome (a received pair above all) while the caller waits; after these, the caller is answered
    /// from memory and the save goes on in the background until <see cref="SaveTimeout"/>.
    /// </summary>
    public int SaveAttempts { get; set; } = 6;

    /// <summary>First delay between save tries; doubles each time, up to 30 seconds.</summary>
    public TimeSpan SaveRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long a renewal's outcome that storage did not take is kept in memory and tried again (default 10 minutes). It is also
    /// how long other instances treat a lease that ran out unreleased as "its holder may still be saving a newer pair": they
    /// neither refresh nor hand out the stored token meanwhile.
    /// </summary>
    public TimeSpan SaveTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A sweep does not enqueue an entry again within this time of enqueuing it.</summary>
    public TimeSpan RequeueAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a token request waits for a refresh another instance holds the lease for.</summary>
    public TimeSpan LeaseWaitTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan LeaseWaitInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How many due connections a sweep hands to the queue at once.</summary>
    public int SweepParallelism { get; set; } = 16;
}

internal sealed class RenewalOptionsValidator(IOptions<FreshBooksOptions> freshBooks, IOptions<StorageOptions> storage) : IValidateOptions<RenewalOptions>
{
    public ValidateOptionsResult Validate(string? name, RenewalOptions o)
    {
        var failures = new List<string>();
        if (o.RenewBefore <= TimeSpan.Zero || o.RenewBefore >= TimeSpan.FromHours(11))
        {
            failures.Add("Renewal__RenewBefore must be between 0 and 11 hours (access tokens live 12).");
        }

        // A renewal must be due well inside the token's life, or every renewal makes the next one due at once: a renewal loop.
        if (o.RenewBefore + o.Jitter > TimeSpan.FromHours(11))
        {
            failures.Add("Renewal__RenewBefore + Renewal__Jitter must not exceed 11 hours (access tokens live 12).");
        }

        // The token API refreshes inline within this window of expiry: a window near the token's life refreshes on every call.
        if (o.InlineRefreshBefore > TimeSpan.FromHours(1) || o.InlineRefreshBefore > o.RenewBefore)
        {
            failures.Add("Renewal__InlineRefreshBefore must be at most 1 hour and not above Renewal__RenewBefore (the sweep renews first; inline refresh is the fallback).");
        }

        if (o.Jitter < TimeSpan.Zero || o.InlineRefreshBefore < TimeSpan.Zero || o.RetryBaseDelay < TimeSpan.Zero || o.MaxInlineRetryAfter < TimeSpan.Zero
            || o.SaveRetryDelay < TimeSpan.Zero || o.RequeueAfter < TimeSpan.Zero || o.LeaseWaitTimeout < TimeSpan.Zero || o.LeaseWaitInterval <= TimeSpan.Zero)
        {
            failures.Add("Renewal__* durations must not be negative.");
        }

        if (o.RefreshAttempts is < 1 or > 10 || o.SaveAttempts is < 1 or > 20 || o.SweepParallelism is < 1 or > 256)
        {
            failures.Add("Renewal__RefreshAttempts must be 1-10, Renewal__SaveAttempts 1-20, Renewal__SweepParallelism 1-256.");
        }

        if (o.FailureBackoff <= TimeSpan.Zero || o.MaxFailureBackoff < o.FailureBackoff)
        {
            failures.Add("Renewal__FailureBackoff must be positive and not above Renewal__MaxFailureBackoff.");
        }

        if (o.SaveTimeout <= TimeSpan.Zero || o.SaveTimeout > TimeSpan.FromDays(1))
        {
            failures.Add("Renewal__SaveTimeout must be between 0 and 1 day.");
        }

        // The lease must outlive every call its holder makes before FreshBooks answers, or a second renewer could spend the same
        // refresh token. Storage calls count with the storage client's own retries and time-outs.
        var longestHold = LongestHold(o, freshBooks.Value, storage.Value.Retry);
        if (o.LeaseDuration <= longestHold)
        {
            failures.Add(
                $"Renewal__LeaseDuration ({o.LeaseDuration}) must be longer than the longest renewal it guards ({longestHold:c}): the lease write and the " +
                "storage reads between refresh tries (each up to Storage__Retry__NetworkTimeout x (Storage__Retry__MaxRetries + 1) plus the retry delays), " +
                "FreshBooks__Timeout x Renewal__RefreshAttempts, and the waits between tries (Renewal__MaxInlineRetryAfter, Renewal__RetryBaseDelay).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The longest a lease holder can take before FreshBooks' last answer: what <see cref="RenewalOptions.LeaseDuration"/> must exceed.</summary>
    internal static TimeSpan LongestHold(RenewalOptions o, FreshBooksOptions freshBooks, StorageRetryOptions storage)
    {
        var storageCall = storage.LongestCall;
        var backoff = o.RetryBaseDelay * Math.Pow(2, Math.Max(0, o.RefreshAttempts - 2)) * 1.5;
        var waitBetweenTries = (o.MaxInlineRetryAfter > backoff ? o.MaxInlineRetryAfter : backoff) + storageCall;
        return storageCall + (freshBooks.Timeout * o.RefreshAttempts) + (waitBetweenTries * (o.RefreshAttempts - 1));
    }
}
