using System.Diagnostics.Metrics;
using FreshBooksConnect.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.Tests;

/// <summary>The product's instruments for a class under test, on a meter factory of their own.</summary>
internal static class Metrics
{
    public static RenewalMetrics Create() =>
        new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>(), TimeProvider.System);
}
