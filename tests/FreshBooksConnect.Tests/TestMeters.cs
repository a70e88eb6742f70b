using System.Diagnostics.Metrics;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Renewal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Tests;

/// <summary>The meter factory of a real container, for classes that count what they do.</summary>
internal static class TestMeters
{
    public static IMeterFactory Factory { get; } = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();

    public static ConnectionTokenCache TokenCache(TimeSpan? lifetime = null, TimeProvider? time = null, int maxEntries = 100) => new(
        Options.Create(new TokenCacheOptions { Lifetime = lifetime ?? TimeSpan.FromSeconds(30), MaxEntries = maxEntries }),
        Options.Create(new RenewalOptions()),
        time ?? TimeProvider.System,
        Factory);
}
