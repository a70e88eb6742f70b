using FreshBooksConnect.Renewal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Tests;

/// <summary>The lease must outlast every call its holder can make, storage calls with the storage client's own retries included.</summary>
public sealed class RenewalOptionsValidationTests
{
    private static RenewalOptions Resolve(params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage"] = "UseDevelopmentStorage=true",
            ["FreshBooks:ClientId"] = "client",
            ["FreshBooks:ClientSecret"] = "secret",
            ["FreshBooks:RedirectUri"] = "https://app.example/api/callback",
            ["TokenProtection:CurrentKeyId"] = "k1",
            ["TokenProtection:Keys:k1"] = KeyRings.NewKey(),
            ["Onboarding:SigningKey"] = KeyRings.NewKey(),
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        var services = new ServiceCollection().AddFreshBooksConnect(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<RenewalOptions>>().Value;
    }

    [Fact]
    public void The_defaults_pass()
    {
        Assert.Equal(TimeSpan.FromMinutes(3), Resolve().LeaseDuration);
    }

    [Theory]
    [InlineData("Storage:Retry:MaxRetries", "10")]
    [InlineData("Storage:Retry:NetworkTimeout", "00:01:00")]
    public void Raising_the_storage_retries_or_time_out_makes_a_too_short_lease_fail_naming_both_settings(string setting, string value)
    {
        var refused = Assert.Throws<OptionsValidationException>(() => Resolve((setting, value)));

        var message = Assert.Single(refused.Failures, f => f.Contains("Renewal__LeaseDuration", StringComparison.Ordinal));
        Assert.Contains("Storage__Retry__MaxRetries", message, StringComparison.Ordinal);
        Assert.Contains("Storage__Retry__NetworkTimeout", message, StringComparison.Ordinal);

        // A lease long enough for those storage calls is accepted again.
        Assert.Equal(TimeSpan.FromMinutes(30), Resolve((setting, value), ("Renewal:LeaseDuration", "00:30:00")).LeaseDuration);
    }

    [Fact]
    public void The_bound_counts_every_try_of_every_storage_call_a_lease_holder_makes()
    {
        var retry = new Storage.StorageRetryOptions { MaxRetries = 2, Delay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(1.5), NetworkTimeout = TimeSpan.FromSeconds(5) };

        // Three tries of 5 s, and the waits between them: 1.2 s (1 s with the SDK's jitter) and 1.5 s (capped).
        Assert.Equal(TimeSpan.FromSeconds(15 + 1.2 + 1.5), retry.LongestCall);
    }

    [Theory]
    [InlineData("Renewal:InlineRefreshBefore", "11:00:00", "Renewal__InlineRefreshBefore")]
    [InlineData("Renewal:InlineRefreshBefore", "01:30:00", "Renewal__InlineRefreshBefore")]
    [InlineData("Renewal:Jitter", "10:30:00", "Renewal__RenewBefore + Renewal__Jitter")]
    public void Renewal_windows_that_would_refresh_on_every_call_or_renew_in_a_loop_fail_start_up(string setting, string value, string named)
    {
        var refused = Assert.Throws<OptionsValidationException>(() => Resolve((setting, value), ("Renewal:RenewBefore", "01:00:00")));

        Assert.Contains(refused.Failures, f => f.Contains(named, StringComparison.Ordinal));
    }
}
